package measure

import "testing"

func TestMetricSum(t *testing.T) {
	m := `# HELP imgproxy_requests_total requests
imgproxy_requests_total{cache="miss",status="200"} 7
imgproxy_requests_total{cache="memory",status="200"} 3
imgproxy_requests_total{cache="none",status="403"} 5
imgproxy_requests_total_other 100
imgproxy_origin_fetches_total 2
`
	for _, c := range []struct {
		name, re string
		want     float64
	}{
		{"imgproxy_requests_total", "", 15},
		{"imgproxy_requests_total", `cache="(memory|disk|miss)"`, 10},
		{"imgproxy_requests_total", `cache="none",status="403"`, 5},
		{"imgproxy_origin_fetches_total", "", 2},
	} {
		if got := MetricSum(m, c.name, c.re); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.name, c.re, got, c.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	if Median(xs) != 3 || Quantile(xs, 0.9) != 5 || Quantile(nil, 0.5) != 0 || xs[0] != 5 {
		t.Errorf("median %v, p90 %v, input %v", Median(xs), Quantile(xs, 0.9), xs)
	}
}
