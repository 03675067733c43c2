GO ?= go
BIN := bin

.PHONY: all build dev test test-short proto proto-check crd crd-check tidy-check vet kube-assets bench fuzz images fault clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

## dev: run Weft on this machine (embedded Kafka-protocol server, control plane, ingress, dispatcher)
dev: build
	./$(BIN)/weft dev $(ARGS)

## test: everything CI checks: generated code and CRDs fresh, go.mod tidy, vet, the
## Kubernetes test binaries built (once per machine), unit + e2e + Kubernetes tests with
## -race, then the compose fault suite where Docker and Compose are usable
test: proto-check crd-check tidy-check vet kube-assets
	$(GO) test -race -count=1 -timeout 30m ./...
	@if docker info >/dev/null 2>&1 && { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; }; then \
		$(MAKE) --no-print-directory fault; \
	else \
		echo "make test: no usable Docker Engine with Compose here: the compose fault suite is skipped (its loopback counterparts ran above)"; \
	fi

test-short:
	$(GO) test -short -count=1 ./...

vet:
	$(GO) vet ./...
	$(GO) vet -tags compose ./test/e2e

## kube-assets: build kube-apiserver, kubectl and etcd from the Go module proxy into a
## per-machine cache (minutes the first time, then instant); the Kubernetes tests use them,
## and skip saying why when they cannot be built
kube-assets:
	@GO=$(GO) ./hack/kube-assets.sh >/dev/null || echo "make test: kube-apiserver, kubectl and etcd could not be built: the Kubernetes tests will skip"

## tidy-check: fail when go.mod/go.sum are not what `go mod tidy` makes them
tidy-check:
	@$(GO) mod tidy -diff || { echo "tidy-check: go.mod/go.sum are not tidy: run 'go mod tidy' and commit" >&2; exit 1; }

## proto: regenerate the Go code in proto/ (needs protoc; installed from Debian's packages when missing)
proto:
	@command -v protoc >/dev/null 2>&1 || ./hack/install-protoc.sh
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" ./hack/genproto.sh

## proto-check: fail when the committed generated code is stale
proto-check:
	./hack/verify-proto.sh

## crd: regenerate the CRDs in deploy/kubernetes/10-crds from pkg/kube/apis (controller-gen)
crd:
	GO=$(GO) ./hack/gencrd.sh

## crd-check: fail when the committed CRDs are stale
crd-check:
	GO=$(GO) ./hack/verify-crd.sh

## bench: micro-benchmarks of the hot paths, then `weft bench`'s default profile
## (weft dev against weft kafka, beside a bare HTTP server and a raw producer); about 2 minutes
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 200ms ./pkg/...
	./$(BIN)/weft bench $(ARGS)

## fuzz: run each fuzz target for FUZZTIME (default 60s each, about 11 minutes in all),
## one target at a time (Go fuzzes one target per package per invocation); FUZZFLAGS adds
## flags such as -parallel 1. A crasher is written under the package's testdata/fuzz/<target>
## and the run stops; `make test` replays the committed corpora as regression tests.
FUZZTIME ?= 60s
FUZZFLAGS ?=
FUZZ_TARGETS := \
	pkg/ingress:FuzzIngressRequest \
	pkg/ceformat:FuzzValid \
	pkg/ceformat:FuzzSplitBatch \
	pkg/cekafka:FuzzFromRecord \
	pkg/cekafka:FuzzFromSourceRecord \
	pkg/apis:FuzzDecodeManifests \
	pkg/apis:FuzzParseDuration \
	pkg/filter:FuzzCompileCESQL \
	pkg/filter:FuzzCompileFilter \
	pkg/delivery:FuzzParseRetryAfter \
	pkg/delivery:FuzzRenderedHead
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./$$pkg || exit 1; \
	done

## images: one FROM-scratch image per binary (weft/<bin>:dev), nothing pulled
images:
	GO=$(GO) ./hack/images.sh

## fault: the compose fault suite (needs Docker): builds the images, brings the cluster up, injects each fault under load
fault: images
	$(GO) test -tags compose -count=1 -timeout 30m -run TestComposeCluster -v ./test/e2e

clean:
	rm -rf $(BIN)
