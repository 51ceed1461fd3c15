export * from "./client.js";
export * from "./oauth.js";
export * from "./sse.js";
export * from "./jwks.js";
export * from "./toolguard.js";
