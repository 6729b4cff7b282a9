// Command verify checks a running Xiaowei server's publication ledger with an independent
// implementation of the formats: Go's golang.org/x/mod/sumdb/note (signed notes, Ed25519) and
// golang.org/x/mod/sumdb/tlog (RFC 6962 trees read through hash tiles). It verifies the
// checkpoint's signature, authenticates every tile it reads against the checkpoint's root, checks
// the inclusion proof of every leaf (from the entry bundles) and consistency proofs from several
// older tree sizes. Usage: verify <base-url> <vkey>. Runs offline in GOPATH mode.
package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var base string

func get(path string) []byte {
	resp, err := http.Get(base + path)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		fail("GET %s: status %d %v", path, resp.StatusCode, err)
	}
	return body
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "ledger verification FAILED: "+format+"\n", args...)
	fmt.Println("0 passed, 1 failed")
	os.Exit(1)
}

// tiles serves Go's tile coordinates (height 8) from the C2SP tlog-tiles paths.
type tiles struct{}

func (tiles) Height() int { return 8 }

func (tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		// Go spells tile/8/L/N…; C2SP drops the height: tile/L/N….
		out[i] = get("/ledger/" + strings.Replace(t.Path(), "tile/8/", "tile/", 1))
	}
	return out, nil
}

func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func entriesPath(n int64, w int64) string {
	t := tlog.Tile{H: 8, L: -1, N: n, W: int(w)}
	return "/ledger/" + strings.Replace(t.Path(), "tile/8/data/", "tile/entries/", 1)
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: verify <base-url> <vkey>")
	}
	base = strings.TrimRight(os.Args[1], "/")
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("bad vkey: %v", err)
	}
	msg := get("/ledger/checkpoint")
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint body: %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size <= 0 {
		fail("checkpoint size: %q", lines[1])
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("checkpoint root: %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	tree := tlog.Tree{N: size, Hash: root}
	reader := tlog.TileHashReader(tree, tiles{})

	// Every leaf from the entry bundles, proved included in the checkpoint's tree.
	passed := 0
	for start := int64(0); start < size; start += 256 {
		w := size - start
		if w > 256 {
			w = 256
		}
		bundle := get(entriesPath(start/256, w))
		for i := int64(0); i < w; i++ {
			if len(bundle) < 2 {
				fail("entry bundle %d too short", start/256)
			}
			l := int(bundle[0])<<8 | int(bundle[1])
			leaf := bundle[2 : 2+l]
			bundle = bundle[2+l:]
			index := start + i
			proof, err := tlog.ProveRecord(size, index, reader)
			if err != nil {
				fail("proof of leaf %d: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(leaf)); err != nil {
				fail("leaf %d is not in the tree: %v", index, err)
			}
			passed++
		}
	}
	// Older trees are prefixes of today's.
	for _, old := range []int64{1, 2, 3, size / 3, size / 2, size - 1, size} {
		if old < 1 || old > size {
			continue
		}
		oldHash, err := tlog.TreeHash(old, reader)
		if err != nil {
			fail("tree hash %d: %v", old, err)
		}
		proof, err := tlog.ProveTree(size, old, reader)
		if err != nil {
			fail("consistency proof %d: %v", old, err)
		}
		if err := tlog.CheckTree(proof, size, root, old, oldHash); err != nil {
			fail("tree %d is not a prefix of %d: %v", old, size, err)
		}
		passed++
	}
	fmt.Printf("Go sumdb/tlog and sumdb/note verified the ledger of %d leaves (%s)\n", size, verifier.Name())
	fmt.Printf("%d passed, 0 failed\n", passed)
}
