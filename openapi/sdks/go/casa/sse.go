package casa

// Hand-written: the reader of `GET /trace/stream` (Server-Sent Events, one trace
// event per `data:`).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// TraceEvents calls fn with each trace event as it is written, until ctx ends,
// fn returns false, or the server closes the stream.
func TraceEvents(ctx context.Context, baseURL, adminToken string, filters url.Values, fn func(map[string]any) bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(baseURL, "/")+"/trace/stream?"+filters.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("trace stream: %s", resp.Status)
	}
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var data []string
	for scanner.Scan() {
		line := strings.TrimSuffix(scanner.Text(), "\r")
		switch {
		case line == "":
			if len(data) > 0 {
				var event map[string]any
				if err := json.Unmarshal([]byte(strings.Join(data, "\n")), &event); err != nil {
					return err
				}
				if !fn(event) {
					return nil
				}
			}
			data = nil
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
		// `:` comments (keep-alives), `id:`, `event:`, `retry:` carry no event data.
	}
	return scanner.Err()
}
