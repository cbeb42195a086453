package urlsig

import "testing"

func BenchmarkParseVerify(b *testing.B) {
	ring, vf := loadVectors(b)
	uri := vf.Vectors[2].URL
	b.ReportAllocs()
	for b.Loop() {
		u, err := Parse(uri)
		if err != nil {
			b.Fatal(err)
		}
		if err := ring.Verify(u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendURL(b *testing.B) {
	ring, _ := loadVectors(b)
	var buf []byte
	ps := make([]Param, 3)
	b.ReportAllocs()
	for b.Loop() {
		ps[0], ps[1], ps[2] = Param{"w", "400"}, Param{"fm", "webp"}, Param{"q", "80"}
		var err error
		buf, err = ring.AppendURL(buf[:0], "photos/cat.jpg", ps)
		if err != nil {
			b.Fatal(err)
		}
	}
}
