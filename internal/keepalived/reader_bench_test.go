package keepalived

import (
	"context"
	"path/filepath"
	"testing"
)

func BenchmarkReaderOnly(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keepalived.conf")
	size, err := writeLargeConfig(path, 10000, 10)
	if err != nil {
		b.Fatal(err)
	}
	data, info, err := readRegularFile(path, 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := newReader(context.Background(), Options{})
		r.pushMain(path, filepath.Dir(path), data, info)
		n := 0
		for {
			_, ok := r.readLine()
			if !ok {
				break
			}
			n++
		}
	}
}
