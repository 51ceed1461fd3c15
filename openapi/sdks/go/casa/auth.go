package casa

// Hand-written: request editors for the generated client.

import (
	"context"
	"net/http"
)

// BearerAuth authenticates every request of the generated client with a bearer
// token: the admin token for the management and trace API.
func BearerAuth(token string) RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}
