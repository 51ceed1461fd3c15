package casa

// Hand-written: a realm's JWKS, cached. A token with an unknown `kid` refreshes it
// (key rotation), at most once per MinRefresh, so forged kids cannot make a tool
// server hammer casa.

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

type JWKSCache struct {
	URI        string
	MinRefresh time.Duration
	HTTP       *http.Client

	mu        sync.Mutex
	keys      map[string]ed25519.PublicKey
	fetchedAt time.Time
}

func NewJWKSCache(uri string) *JWKSCache {
	return &JWKSCache{URI: uri, MinRefresh: 10 * time.Second, HTTP: http.DefaultClient}
}

// Key returns the Ed25519 key `kid`, refreshing the set once if it is unknown.
func (c *JWKSCache) Key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.keys[kid]; ok {
		return k, nil
	}
	if time.Since(c.fetchedAt) >= c.MinRefresh {
		if err := c.refresh(ctx); err != nil {
			return nil, err
		}
	}
	if k, ok := c.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("no key %q in the realm's JWKS", kid)
}

func (c *JWKSCache) refresh(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URI, nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS: %s", resp.Status)
	}
	var set struct {
		Keys []struct{ Kty, Crv, Kid, X string } `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return err
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if k.Kty == "OKP" && k.Crv == "Ed25519" && err == nil && len(x) == ed25519.PublicKeySize {
			keys[k.Kid] = ed25519.PublicKey(x)
		}
	}
	c.keys, c.fetchedAt = keys, time.Now()
	return nil
}
