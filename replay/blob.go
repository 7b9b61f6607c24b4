package replay

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// BlobStore keeps immutable blobs under slash-separated keys. It is the
// seam for S3-compatible storage: keys map to object names, Put to a
// conditional PUT (If-None-Match: *), List to a prefix listing.
type BlobStore interface {
	// Put stores data under key unless the key exists; created reports
	// whether this call stored it. Putting an existing key is not an error
	// and leaves the first version in place.
	Put(ctx context.Context, key string, data []byte) (created bool, err error)
	// Get returns a blob; the error wraps ErrNotFound when there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// List returns the keys that start with prefix, in lexical order.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes a blob; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ErrNotFound is returned (wrapped) by Get for a missing key.
var ErrNotFound = errors.New("replay: blob not found")

// keySegment is what a key segment may contain. Keys are built by this
// package from validated ids, so the file store only has to refuse anything
// else, which keeps every path inside its directory.
var keySegment = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$`)

// FileStore is a BlobStore in a directory of the local file system: one
// file per key, written to a temporary file, synced, and linked into place
// so that a blob is either absent or complete, and two concurrent Puts of
// one key store it once.
type FileStore struct {
	dir string
}

var _ BlobStore = (*FileStore)(nil)

// NewFileStore returns a FileStore rooted at dir, creating it if needed.
func NewFileStore(dir string) (*FileStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("replay: blob dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("replay: create blob dir: %w", err)
	}
	return &FileStore{dir: abs}, nil
}

// path maps a key to its file, refusing keys that are not a sequence of
// plain segments (no "..", no absolute paths, no empty segments).
func (s *FileStore) path(key string) (string, error) {
	segs := strings.Split(key, "/")
	for _, seg := range segs {
		if !keySegment.MatchString(seg) || strings.HasPrefix(seg, "..") {
			return "", fmt.Errorf("replay: invalid blob key %q", key)
		}
	}
	return filepath.Join(append([]string{s.dir}, segs...)...), nil
}

// Put implements BlobStore.
func (s *FileStore) Put(ctx context.Context, key string, data []byte) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	p, err := s.path(key)
	if err != nil {
		return false, err
	}
	if _, err := os.Lstat(p); err == nil {
		return false, nil
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("replay: put %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return false, fmt.Errorf("replay: put %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("replay: put %s: write: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("replay: put %s: sync: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("replay: put %s: close: %w", key, err)
	}
	// Link fails if the name exists: the atomic "create if absent".
	if err := os.Link(tmp.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("replay: put %s: link: %w", key, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return true, nil
}

// Get implements BlobStore.
func (s *FileStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("replay: get %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("replay: get %s: %w", key, err)
	}
	return b, nil
}

// Delete implements BlobStore.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replay: delete %s: %w", key, err)
	}
	return nil
}

// List implements BlobStore. It walks only the directory that the prefix
// names up to its last slash.
func (s *FileStore) List(ctx context.Context, prefix string) ([]string, error) {
	base := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		base = prefix[:i]
	}
	root := s.dir
	if base != "" {
		p, err := s.path(base)
		if err != nil {
			return nil, err
		}
		root = p
	}
	var keys []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return err
		}
		if k := filepath.ToSlash(rel); strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay: list %q: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}
