// Runs the README's example program as written against a live node.
package readme_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/casa-runtime/casa/openapi/sdks/go/internal/casanode"
)

func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Example.*?```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("no Go example in the README")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, m[1], 0o644); err != nil {
		t.Fatal(err)
	}
	node, err := casanode.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()
	cmd := exec.Command("go", "run", file)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CASA_URL="+node.URL, "CASA_ADMIN_TOKEN="+node.AdminToken)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the example failed: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "issued fs:read" {
		t.Fatalf("the example printed %q", got)
	}
}
