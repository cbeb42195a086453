// Command s3upload creates a bucket on an S3-compatible server (when it does
// not exist yet) and uploads every file under a directory into it, keyed by
// its slash-separated path relative to the directory. scripts/bench.sh uses
// it to load the benchmark originals into versitygw through the S3 API.
// Credentials come from the environment (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, or the standard chain), never from flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func main() {
	endpoint := flag.String("endpoint", "", "S3 endpoint URL, e.g. http://127.0.0.1:7070")
	bucket := flag.String("bucket", "", "bucket to create and upload into")
	dir := flag.String("dir", "", "directory to upload")
	region := flag.String("region", "us-east-1", "region")
	flag.Parse()
	if *endpoint == "" || *bucket == "" || *dir == "" {
		log.Fatal("s3upload: -endpoint, -bucket and -dir are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n, err := run(ctx, *endpoint, *region, *bucket, *dir)
	if err != nil {
		log.Fatalf("s3upload: %v", err)
	}
	fmt.Printf("uploaded %d files to s3://%s\n", n, *bucket)
}

func run(ctx context.Context, endpoint, region, bucket, dir string) (int, error) {
	// The SDK applies AWS_CA_BUNDLE only to a client it built itself.
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithHTTPClient(awshttp.NewBuildableClient()))
	if err != nil {
		return 0, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		var owned *types.BucketAlreadyOwnedByYou
		var exists *types.BucketAlreadyExists
		if !errors.As(err, &owned) && !errors.As(err, &exists) {
			return 0, fmt.Errorf("creating bucket %s: %w", bucket, err)
		}
	}
	n := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket),
			Key:    aws.String(filepath.ToSlash(rel)),
			Body:   f,
		}); err != nil {
			return fmt.Errorf("uploading %s: %w", rel, err)
		}
		n++
		return nil
	})
	return n, err
}
