// Command verify checks a running Xiaowei server's publication ledger with an independent
// implementation of the formats: Go's golang.org/x/mod/sumdb/note (signed notes, Ed25519) and
// golang.org/x/mod/sumdb/tlog (RFC 6962 trees read through hash tiles). It verifies the
// checkpoint's signature, authenticates every tile it reads against the checkpoint's root, checks
// the inclusion proof of every leaf (from the entry bundles) and consistency proofs from several
// older tree sizes. Given witness keys, it also verifies the witnesses' cosignatures on the
// checkpoint (C2SP tlog-cosignature, cosignature/v1) with its own note.Verifier built from
// crypto/ed25519 and crypto/sha256, through note.Open.
// Usage: verify <base-url> <vkey> [<witness vkey>...]. Runs offline in GOPATH mode.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

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

// cosigner verifies Ed25519 cosignatures (signature type 0x04): the signature is an 8-byte
// big-endian timestamp and an Ed25519 signature over "cosignature/v1\ntime <t>\n" and the note
// text; the key hash is SHA-256(name || "\n" || 0x04 || key)[:4].
type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
	seen *uint64
}

func newCosigner(vkey string) cosigner {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		fail("bad witness vkey %q", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		fail("witness vkey %q is not an Ed25519 cosignature key", vkey)
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	if hex.EncodeToString(h[:4]) != parts[1] {
		fail("witness vkey %q: key hash does not match", vkey)
	}
	return cosigner{name: parts[0], hash: binary.BigEndian.Uint32(h[:4]), key: ed25519.PublicKey(raw[1:]), seen: new(uint64)}
}

func (c cosigner) Name() string    { return c.name }
func (c cosigner) KeyHash() uint32 { return c.hash }
func (c cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	if t == 0 || t > uint64(time.Now().Unix()+300) || !ed25519.Verify(c.key, signed, sig[8:]) {
		return false
	}
	*c.seen = t
	return true
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: verify <base-url> <vkey> [<witness vkey>...]")
	}
	base = strings.TrimRight(os.Args[1], "/")
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("bad vkey: %v", err)
	}
	var witnesses []cosigner
	for _, vkey := range os.Args[3:] {
		witnesses = append(witnesses, newCosigner(vkey))
	}
	// The platform submits its checkpoint to the witnesses in the background: wait until every
	// witness's line is there (at most 30 s).
	msg := get("/ledger/checkpoint")
	for try := 0; try < 150; try++ {
		all := true
		for _, w := range witnesses {
			all = all && strings.Contains(string(msg), "\n\u2014 "+w.name+" ")
		}
		if all {
			break
		}
		time.Sleep(200 * time.Millisecond)
		msg = get("/ledger/checkpoint")
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	if len(witnesses) > 0 {
		list := []note.Verifier{verifier}
		for _, w := range witnesses {
			list = append(list, w)
		}
		cosigned, err := note.Open(msg, note.VerifierList(list...))
		if err != nil {
			fail("cosignatures: %v", err)
		}
		for _, w := range witnesses {
			found := false
			for _, s := range cosigned.Sigs {
				found = found || (s.Name == w.name && s.Hash == w.hash)
			}
			if !found || *w.seen == 0 {
				fail("no valid cosignature from witness %s on %q", w.name, msg)
			}
			fmt.Printf("cosignature of %s verified (time %d)\n", w.name, *w.seen)
		}
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
	fmt.Printf("%d passed, 0 failed\n", passed+len(witnesses))
}
