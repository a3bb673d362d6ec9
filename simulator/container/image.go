package container

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Dockerfile is the image's recipe; its build context is the static binary and an empty data folder.
//
//go:embed Dockerfile
var Dockerfile []byte

// Image returns a local image of the current source, building the static binary and the
// image when they are not there yet (tagged by the binary's hash, so unchanged source is
// built once). With FTPSGW_IMAGE set, it returns that image.
func Image(ctx context.Context, log io.Writer) (string, error) {
	if img := os.Getenv(ImageEnv); img != "" {
		return img, nil
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "ftpsgw-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "ftpsgw")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=container-test", "-o", bin, "./cmd/ftpsgw")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the static ftpsgw binary in %s: %v\n%s", root, err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(data, Dockerfile...))
	tag := "ftpsgw:test-" + hex.EncodeToString(sum[:6])
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	pruneTestImages(ctx, cli, tag)
	var buf bytes.Buffer
	if err := BuildContext(&buf, data); err != nil {
		return "", err
	}
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true,
		Labels: map[string]string{"org.opencontainers.image.title": "ftpsgw gateway simulator (TEST)", testImageLabel: "true"}})
	if err != nil {
		return "", fmt.Errorf("building image %s: %w", tag, err)
	}
	defer res.Body.Close()
	if err := buildOutput(res.Body, log); err != nil {
		return "", fmt.Errorf("building image %s: %w", tag, err)
	}
	return tag, nil
}

// testImageLabel marks images built by Image, so older ones can be removed.
const testImageLabel = "ftpsgw.test-image"

// pruneTestImages removes images Image built from older source (those still in use stay).
func pruneTestImages(ctx context.Context, cli *testcontainers.DockerClient, keep string) {
	list, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", testImageLabel+"=true")})
	if err != nil {
		return
	}
	for _, img := range list.Items {
		if slices.Contains(img.RepoTags, keep) {
			continue
		}
		_, _ = cli.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{PruneChildren: true})
	}
}

// buildOutput follows the engine's JSON build log and returns the first error in it.
func buildOutput(r io.Reader, log io.Writer) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if msg.Error != "" {
			return errors.New(strings.TrimSpace(msg.Error))
		}
		if log != nil && msg.Stream != "" {
			io.WriteString(log, msg.Stream)
		}
	}
}

// BuildContext writes the image's build context (a tar: Dockerfile, ftpsgw, data/) to w.
func BuildContext(w io.Writer, binary []byte) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	files := []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, Dockerfile}, {"ftpsgw", 0o755, binary}}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o750, ModTime: now}); err != nil {
		return err
	}
	return tw.Close()
}

// moduleRoot finds the ftpsgw module's source (this file's module).
func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the ftpsgw source; set " + ImageEnv)
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("no ftpsgw source at %s (built with -trimpath?); set %s to an image made by `make image`", root, ImageEnv)
	}
	return root, nil
}
