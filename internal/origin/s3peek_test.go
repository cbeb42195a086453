package origin_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
)

// Peek reads a prefix of a large object with a ranged GET: the server
// sends only the bytes asked for, counted on the wire by a proxy.
func TestS3PeekReadsOnlyThePrefix(t *testing.T) {
	b := s3test.Bucket(t)
	body := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	b.Put(t, "big.jpg", body)
	proxy, meter := s3test.MeteredProxy(t, b.Endpoint)
	c := b.OriginConfig(int64(len(body)))
	c.Endpoint = proxy
	o := newS3(t, c)

	pk, err := o.Peek(context.Background(), "big.jpg", 4096)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pk.Head, body[:4096]) || pk.Size != int64(len(body)) {
		t.Fatalf("got %d bytes of a %d-byte object; want 4096 of %d", len(pk.Head), pk.Size, len(body))
	}
	more, err := o.ReadRange(context.Background(), "big.jpg", 2<<20, 1000, pk.Tag)
	if err != nil || !bytes.Equal(more, body[2<<20:2<<20+1000]) {
		t.Fatalf("range at 2 MiB: %d bytes, %v", len(more), err)
	}
	t.Logf("object GETs %d, ranges %q, body bytes sent %d of %d", meter.Gets(), meter.Ranges(), meter.Bytes(), len(body))
	if meter.Gets() != 2 || meter.Bytes() != 4096+1000 {
		t.Errorf("the server sent %d bytes in %d GETs; want 5096 in 2", meter.Bytes(), meter.Gets())
	}
	if r := meter.Ranges(); len(r) != 2 || r[0] != "bytes=0-4095" || r[1] != "bytes=2097152-2098151" {
		t.Errorf("Range headers %q", r)
	}

	// The object replaced: ReadRange with the old tag refuses to mix
	// versions, and Peek names the new content.
	b.Put(t, "big.jpg", body[:1<<20])
	if _, err := o.ReadRange(context.Background(), "big.jpg", 0, 10, pk.Tag); !errors.Is(err, origin.ErrChanged) {
		t.Errorf("read of a replaced object: got %v, want ErrChanged", err)
	}
	if again, err := o.Peek(context.Background(), "big.jpg", 10); err != nil || again.Content == pk.Content || again.Size != 1<<20 {
		t.Errorf("replaced object: %+v, %v; want a new content address and size", again, err)
	}
}
