package metrics

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/server"
	"github.com/imgproxy-team/imgproxy/internal/transform"
)

// failing answers every Fetch with err.
type failing struct{ err error }

func (f failing) Fetch(context.Context, string) (*origin.Object, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &origin.Object{}, nil
}

// Every metric and every value each label can take is in the README's
// metrics table, in the row of its metric: an operator writing an alert
// should not have to read the code to learn that kind="failed" exists.
// (status is an HTTP status code; the responses table lists those.)
func TestREADMEListsEveryMetricAndLabelValue(t *testing.T) {
	m := New(Sources{
		Cache:        func() cache.Stats { return cache.Stats{Disk: &cache.DiskStats{}, Shared: &cache.SharedStats{}} },
		Transform:    func() transform.Stats { return transform.Stats{} },
		Originals:    func() origin.SharedStats { return origin.SharedStats{} },
		Libvips:      func() (int64, int64, int64) { return 0, 0, 0 },
		Connections:  func() server.ConnStats { return server.ConnStats{} },
		OriginHealth: func() origin.HealthStats { return origin.HealthStats{} },
	})
	for _, tier := range []cache.Tier{"", cache.TierMemory, cache.TierDisk, cache.TierShared, cache.TierMiss} {
		m.ObserveRequest(200, string(tier), time.Millisecond)
	}
	for _, f := range params.OutputFormats() {
		m.ObserveTransform(f, time.Millisecond)
	}
	for _, err := range []error{nil, origin.ErrNotFound, origin.ErrTooLarge, origin.ErrTimeout, origin.ErrFailed,
		context.Canceled, errors.New("anything else")} {
		m.Origin(failing{err}).Fetch(context.Background(), "k")
	}

	rows := readmeMetricRows(t)
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		name := fam.GetName()
		if !strings.HasPrefix(name, "imgproxy_") {
			continue // Go's and the process's own collectors
		}
		row := rows["`"+name]
		if row == "" {
			t.Errorf("README's metrics table lacks %s", name)
			continue
		}
		for _, metric := range fam.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "status" {
					continue
				}
				if !strings.Contains(row, "`"+l.GetValue()+"`") {
					t.Errorf("README's row for %s lacks %s value `%s`", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// readmeMetricRows maps "`metric_name" to the table row that lists it.
func readmeMetricRows(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "### Metrics and the admin listener")
	if !ok {
		t.Fatal("README has no metrics section")
	}
	section, _, _ = strings.Cut(section, "\n### ")
	rows := map[string]string{}
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "| `imgproxy_") {
			continue
		}
		names, _, _ := strings.Cut(line[1:], " | ")
		for n := range strings.SplitSeq(names, ",") {
			n = strings.TrimSpace(n)
			n, _, _ = strings.Cut(n, "{")
			rows[strings.TrimSuffix(n, "`")] = line
		}
	}
	if len(rows) == 0 {
		t.Fatalf("no metric rows found in:\n%s", section)
	}
	return rows
}
