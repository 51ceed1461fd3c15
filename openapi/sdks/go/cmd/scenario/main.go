// The whole SDK scenario against a live `casa serve` this program spawns.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/casa-runtime/casa/openapi/sdks/go/casa"
	"github.com/casa-runtime/casa/openapi/sdks/go/internal/casanode"
)

func part(token string, i int) map[string]any {
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

func main() { os.Exit(run()) }

func run() int {
	t := &casanode.Tally{}
	node, err := casanode.Start()
	if err != nil {
		fmt.Println("FAIL start casa:", err)
		return t.Summary() + 1
	}
	defer node.Stop()
	ctx := context.Background()
	admin, err := casa.NewClientWithResponses(node.URL, casa.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+node.AdminToken)
		return nil
	}))
	if err != nil {
		panic(err)
	}

	created, err := admin.CreateMasWithResponse(ctx, casa.CreateMas{Name: "sdk-go"})
	if !t.Check("create MAS (201)", err == nil && created.JSON201 != nil, err) {
		return t.Summary()
	}
	mas := created.JSON201
	app := func(body casa.CreateApp) *casa.AppCredentials {
		body.MasId = mas.Id
		r, err := admin.CreateAppWithResponse(ctx, body)
		t.Check("create app "+body.Name+" (201)", err == nil && r.JSON201 != nil, err)
		return r.JSON201
	}
	tools := []string{"fs:read", "fs:write"}
	server := app(casa.CreateApp{Name: "files", Type: casa.AppTypeMcpServer, Tools: &[]casa.ToolSpec{
		{Name: "fs:read", Description: "Read a file"}, {Name: "fs:write", Description: "Write a file"}}})
	client := app(casa.CreateApp{Name: "chat", Type: casa.AppTypeClient, AllowedTools: &tools})
	agent := app(casa.CreateApp{Name: "reader", Type: casa.AppTypeAgent, AllowedTools: &[]string{"fs:read"}})
	if server == nil || client == nil || agent == nil {
		return t.Summary()
	}

	chat := casa.NewOAuth(node.URL, client.ClientId, client.ClientSecret)
	reader := casa.NewOAuth(node.URL, agent.ClientId, agent.ClientSecret)
	issued, err := chat.Token(ctx, "read my notes", tools)
	if !t.Check("issue: client credentials with Basic", err == nil && issued.TokenType == casa.TokenResponseTokenTypeBearer, err) {
		return t.Summary()
	}
	child, err := reader.Exchange(ctx, issued.AccessToken, []string{"fs:read"}, server.Id.String())
	t.Check("exchange allowed: 200 with tools", err == nil && child.Tools != nil && slices.Equal(*child.Tools, []string{"fs:read"}), err)
	if err != nil {
		return t.Summary()
	}
	t.Check("exchanged token is for the tool server", part(child.AccessToken, 1)["aud"] == server.ClientId)

	_, err = reader.Exchange(ctx, issued.AccessToken, []string{"fs:write"}, server.Id.String())
	var denied *casa.OAuthError
	if t.Check("exchange denied: 403 access_denied", errors.As(err, &denied) && denied.Status == 403 && denied.Body.Error == "access_denied", err) {
		d := denied.Body.Denials
		t.Check("exchange denied: per-tool denial",
			d != nil && len(*d) == 1 && (*d)[0].Tool == "fs:write" && (*d)[0].Reason == "tool_not_allowed_for_app", d)
	}

	seen, err := chat.Introspect(ctx, child.AccessToken)
	t.Check("introspect: active", err == nil && seen.Active, err)
	t.Check("introspect: act names the agent", err == nil && seen.Act != nil && seen.Act.Sub == agent.ClientId, seen)

	t.Check("revoke parent", chat.Revoke(ctx, issued.AccessToken) == nil)
	after, err := chat.Introspect(ctx, child.AccessToken)
	t.Check("revoke parent: child inactive", err == nil && !after.Active, err)

	var types []string
	for i := 0; i < 50 && !slices.Contains(types, "revocation"); i++ {
		time.Sleep(100 * time.Millisecond) // the trace is written in batches, just after the answers
		r, err := admin.SessionTraceWithResponse(ctx, issued.UserInputId)
		if err != nil || r.JSON200 == nil {
			break
		}
		types = types[:0]
		var events []struct{ Type string }
		_ = json.Unmarshal(r.Body, &events)
		for _, e := range events {
			types = append(types, e.Type)
		}
	}
	t.Check("session trace in order", len(types) > 3 &&
		slices.Equal(types[:3], []string{"token_issued", "exchange_allowed", "exchange_denied"}) &&
		slices.Index(types, "revocation") > 2, types)

	jwks, err := admin.RealmJwksWithResponse(ctx, mas.Id)
	var set struct{ Keys []struct{ Kid string } }
	if err == nil {
		_ = json.Unmarshal(jwks.Body, &set)
	}
	kids := []string{}
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	t.Check("JWKS holds the active key", slices.Contains(kids, mas.Realm.ActiveKid), kids)
	t.Check("tokens are signed by the active key", part(issued.AccessToken, 0)["kid"] == mas.Realm.ActiveKid)
	keys := casa.NewJWKSCache(mas.Realm.JwksUri)
	_, err = keys.Key(ctx, mas.Realm.ActiveKid)
	t.Check("the JWKS cache finds the active key", err == nil, err)

	meta, err := admin.RealmMetadataPathInsertedWithResponse(ctx, mas.Id)
	var m struct{ Issuer string }
	if err == nil {
		_ = json.Unmarshal(meta.Body, &m)
	}
	t.Check("RFC 8414 metadata (path insertion)", m.Issuer == mas.Realm.Issuer, m)

	del, err := admin.DeleteMasWithResponse(ctx, mas.Id)
	t.Check("delete MAS (204)", err == nil && del.StatusCode() == 204, err)
	gone, err := admin.GetMasWithResponse(ctx, mas.Id)
	t.Check("deleted MAS: 404", err == nil && gone.StatusCode() == 404, err)
	return t.Summary()
}
