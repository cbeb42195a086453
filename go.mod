module github.com/imgproxy-team/imgproxy

go 1.26
