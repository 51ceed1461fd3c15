// Package casanode spawns a real `casa serve` on a loopback port and a fresh data
// dir, for the scenario and the README test; and tallies checks.
package casanode

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

type Node struct {
	URL, AdminToken string
	cmd             *exec.Cmd
	dir             string
}

func binary() string {
	if b := os.Getenv("CASA_BIN"); b != "" {
		return b
	}
	target := os.Getenv("CARGO_TARGET_DIR")
	if target == "" {
		target = "../../../target"
	}
	return filepath.Join(target, "debug", "casa")
}

func Start() (*Node, error) {
	dir, err := os.MkdirTemp("", "casa-sdk-go-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	n := &Node{URL: fmt.Sprintf("http://127.0.0.1:%d", port), AdminToken: "sdk-test-admin-" + hex.EncodeToString(secret), dir: dir}
	log, err := os.Create(filepath.Join(dir, "casa.log"))
	if err != nil {
		return nil, err
	}
	n.cmd = exec.Command(binary(), "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", filepath.Join(dir, "data"))
	n.cmd.Env = append(os.Environ(), "CASA_ADMIN_TOKEN="+n.AdminToken, "CASA_LOG_LEVEL=warn")
	n.cmd.Stdout, n.cmd.Stderr = log, log
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if r, err := http.Get(n.URL + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return n, nil
			}
		}
	}
	n.Stop()
	return nil, fmt.Errorf("casa did not become ready")
}

func (n *Node) Stop() {
	_ = n.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(n.dir)
}

// Tally counts checks and prints `N passed, N failed`.
type Tally struct{ Passed, Failed int }

func (t *Tally) Check(name string, ok bool, detail ...any) bool {
	if ok {
		t.Passed++
		fmt.Println("ok  ", name)
	} else {
		t.Failed++
		fmt.Println("FAIL", name, fmt.Sprint(detail...))
	}
	return ok
}

func (t *Tally) Summary() int {
	fmt.Printf("%d passed, %d failed\n", t.Passed, t.Failed)
	if t.Failed > 0 || t.Passed == 0 {
		return 1
	}
	return 0
}
