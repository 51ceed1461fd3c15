package casa

// Hand-written: the OAuth endpoints with form bodies and HTTP Basic client
// authentication (RFC 6749 section 2.3.1, each part form-encoded); answers are
// decoded into the generated types.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

// OAuthError is an RFC 6749 error answer; a denied exchange has per-tool Denials.
type OAuthError struct {
	Status int
	Body   ErrorBody
}

func (e *OAuthError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Body.Error, e.Body.ErrorDescription)
}

// OAuth makes one app's OAuth calls against a casa node.
type OAuth struct {
	BaseURL, ClientID, ClientSecret string
	HTTP                            *http.Client
}

func NewOAuth(baseURL, clientID, clientSecret string) *OAuth {
	return &OAuth{BaseURL: strings.TrimSuffix(baseURL, "/"), ClientID: clientID, ClientSecret: clientSecret, HTTP: http.DefaultClient}
}

// BasicAuth is the Authorization value for client credentials.
func BasicAuth(clientID, clientSecret string) string {
	pair := url.QueryEscape(clientID) + ":" + url.QueryEscape(clientSecret)
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(pair))
}

func (o *OAuth) post(ctx context.Context, path string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.BaseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", BasicAuth(o.ClientID, o.ClientSecret))
	resp, err := o.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := &OAuthError{Status: resp.StatusCode}
		_ = json.NewDecoder(resp.Body).Decode(&e.Body)
		return e
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Token issues an initial token for a user input (client credentials grant).
func (o *OAuth) Token(ctx context.Context, userInput string, tools []string) (*TokenResponse, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "user_input": {userInput}}
	if len(tools) > 0 {
		form.Set("tools", strings.Join(tools, " "))
	}
	var t TokenResponse
	return &t, o.post(ctx, "/oauth/token", form, &t)
}

// Exchange asks (RFC 8693) for a token for tools on the tool server audience (its app id or base URL).
func (o *OAuth) Exchange(ctx context.Context, subjectToken string, tools []string, audience string) (*TokenResponse, error) {
	form := url.Values{
		"grant_type":         {GrantTokenExchange},
		"subject_token":      {subjectToken},
		"subject_token_type": {TokenTypeAccess},
		"tools":              {strings.Join(tools, " ")},
		"audience":           {audience},
	}
	var t TokenResponse
	return &t, o.post(ctx, "/oauth/token/exchange", form, &t)
}

// Introspect is RFC 7662.
func (o *OAuth) Introspect(ctx context.Context, token string) (*IntrospectionResponse, error) {
	var i IntrospectionResponse
	return &i, o.post(ctx, "/oauth/introspect", url.Values{"token": {token}}, &i)
}

// Revoke is RFC 7009: the token and everything exchanged from it.
func (o *OAuth) Revoke(ctx context.Context, token string) error {
	return o.post(ctx, "/oauth/revoke", url.Values{"token": {token}}, nil)
}
