package ops

import (
	"flag"
	"os"
	"testing"

	"github.com/sluice-db/sluice/internal/testing/testserver"
)

var (
	// gatewayBin is the gateway binary TestMain built.
	gatewayBin string
	// repoRoot is the repository's root directory.
	repoRoot string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testserver.Main(m, &gatewayBin, &repoRoot))
}
