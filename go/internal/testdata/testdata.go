// Package testdata finds and reads the repository's shared test data: the
// upstream reference vectors (tests/data/vectors, and the contract's copy in
// ../shared/vectors when it is present) and the hand-written golden hex
// messages (tests/data/golden). Tests only.
package testdata

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// RepoRoot is the repository root (this file lives in go/internal/testdata).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// VectorDirs returns the vector directories to test: the repository's copy
// always, the shared contract's copy when it exists beside the repository.
func VectorDirs(t testing.TB) []string {
	dirs := []string{filepath.Join(RepoRoot(), "tests", "data", "vectors")}
	shared := filepath.Join(RepoRoot(), "..", "shared", "vectors")
	if st, err := os.Stat(shared); err == nil && st.IsDir() {
		dirs = append(dirs, shared)
	} else {
		t.Logf("no shared vectors at %s: testing the repository copy only", shared)
	}
	return dirs
}

// Vector reads one .bin vector from dir.
func Vector(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Golden reads a tests/data/golden .hex file: hex bytes, '#' comments.
func Golden(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(RepoRoot(), "tests", "data", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, tok := range strings.Fields(line) {
			b, err := hex.DecodeString(tok)
			if err != nil {
				t.Fatalf("%s: bad hex %q", name, tok)
			}
			out = append(out, b...)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Equal fails the test when got and want differ, naming the first offset.
func Equal(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Fatalf("%s: %d bytes, want %d; first difference at offset %d", what, len(got), len(want), i)
}
