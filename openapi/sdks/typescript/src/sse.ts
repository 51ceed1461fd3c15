// `GET /trace/stream`: Server-Sent Events, one trace event (JSON) per `data:`.

/** Yields trace events as they are written, until `signal` aborts or the server closes. */
export async function* traceEvents(
  baseUrl: string,
  adminToken: string,
  filters: Record<string, string> = {},
  signal?: AbortSignal,
): AsyncGenerator<Record<string, unknown>> {
  const url = new URL(baseUrl.replace(/\/$/, "") + "/trace/stream");
  for (const [k, v] of Object.entries(filters)) url.searchParams.set(k, v);
  const r = await fetch(url, { headers: { Authorization: `Bearer ${adminToken}`, Accept: "text/event-stream" }, signal });
  if (!r.ok || !r.body) throw new Error(`trace stream: ${r.status}`);
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line === "") {
        if (data.length) yield JSON.parse(data.join("\n"));
        data = [];
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).replace(/^ /, ""));
      }
      // `:` comments (keep-alives), `id:`, `event:`, `retry:` carry no event data.
    }
  }
}
