// A realm's JWKS, cached by jose: a token with an unknown `kid` refetches it (key
// rotation), at most once per `cooldownMs`, so forged kids cannot make a tool server
// hammer casa.
import { createRemoteJWKSet } from "jose";

export function realmJwks(jwksUri: string, cooldownMs = 10_000) {
  return createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: cooldownMs, cacheMaxAge: 10 * 60_000 });
}
