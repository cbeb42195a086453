package config

import (
	"strings"
	"testing"
	"time"
)

// The shared tier is off without a bucket; with one, every connection
// field it leaves unset is the origin's, and each one it sets is its own.
func TestSharedCacheInheritsOrigin(t *testing.T) {
	origin := map[string]string{
		"IMGPROXY_ORIGIN_S3_BUCKET":            "images",
		"IMGPROXY_ORIGIN_S3_ENDPOINT":          "http://127.0.0.1:9000",
		"IMGPROXY_ORIGIN_S3_REGION":            "eu-central-1",
		"IMGPROXY_ORIGIN_S3_PATH_STYLE":        "true",
		"IMGPROXY_ORIGIN_S3_ACCESS_KEY_ID":     "origin-id",
		"IMGPROXY_ORIGIN_S3_SECRET_ACCESS_KEY": "origin-secret",
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want S3
		err  string
	}{
		{name: "off", want: S3{}},
		{name: "inherited", env: map[string]string{"IMGPROXY_CACHE_SHARED_BUCKET": "results"},
			want: S3{Bucket: "results", Endpoint: "http://127.0.0.1:9000", Region: "eu-central-1", PathStyle: true,
				AccessKeyID: "origin-id", SecretAccessKey: "origin-secret"}},
		{name: "overridden", env: map[string]string{
			"IMGPROXY_CACHE_SHARED_BUCKET": "results", "IMGPROXY_CACHE_SHARED_PREFIX": "v1",
			"IMGPROXY_CACHE_SHARED_ENDPOINT": "https://r2.example", "IMGPROXY_CACHE_SHARED_REGION": "auto",
			"IMGPROXY_CACHE_SHARED_PATH_STYLE": "false", "IMGPROXY_CACHE_SHARED_ACCESS_KEY_ID": "r2-id",
			"IMGPROXY_CACHE_SHARED_SECRET_ACCESS_KEY": "r2-secret"},
			want: S3{Bucket: "results", Prefix: "v1", Endpoint: "https://r2.example", Region: "auto",
				AccessKeyID: "r2-id", SecretAccessKey: "r2-secret"}},
		{name: "half a key pair", env: map[string]string{"IMGPROXY_CACHE_SHARED_BUCKET": "results",
			"IMGPROXY_CACHE_SHARED_ACCESS_KEY_ID": "r2-id"}, err: "cache.shared.access_key_id and cache.shared.secret_access_key"},
		{name: "the originals' own place", env: map[string]string{"IMGPROXY_CACHE_SHARED_BUCKET": "images"},
			err: `cache.shared.bucket "images": the same bucket and prefix as the originals`},
		{name: "bad path style", env: map[string]string{"IMGPROXY_CACHE_SHARED_BUCKET": "results",
			"IMGPROXY_CACHE_SHARED_PATH_STYLE": "yes please"}, err: "cache.shared.path_style"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for k, v := range origin {
				t.Setenv(k, v)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := Load(Source{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Cache.Shared.S3 != tc.want {
				t.Errorf("got %+v\nwant %+v", c.Cache.Shared.S3, tc.want)
			}
		})
	}
}

func TestSharedCacheDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Load(Source{})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Cache.Shared; s.Timeout != time.Second || s.Queue != 256 || s.QueueBytes != 64<<20 || s.S3.Bucket != "" {
		t.Errorf("defaults: %+v", s)
	}
}
