package origin_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/origin/s3test"
)

// The CPU this process spends on one S3 fetch of a 1.5 MB original.
func BenchmarkS3Fetch(b *testing.B) {
	bucket := s3test.Bucket(b)
	body := make([]byte, 1_500_000)
	for i := range body {
		body[i] = byte(i * 7)
	}
	bucket.Put(b, "big.jpg", body)
	o, err := origin.NewS3(context.Background(), bucket.OriginConfig(10<<20))
	if err != nil {
		b.Fatal(err)
	}
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	for range b.N {
		obj, err := o.Fetch(context.Background(), "big.jpg")
		if err != nil || len(obj.Body) != len(body) {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := func(r syscall.Rusage) float64 { return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e6 }
	b.ReportMetric((cpu(after)-cpu(before))/float64(b.N), "cpu-ms/op")
}
