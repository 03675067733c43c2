GO ?= go
BIN := bin

.PHONY: all build dev test test-short proto proto-check vet bench images clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

## dev: run Weft on this machine (embedded Kafka-protocol server, control plane, ingress, dispatcher)
dev: build
	./$(BIN)/weft dev $(ARGS)

## test: everything CI checks: generated code fresh, vet, unit + e2e tests with -race
test: proto-check vet
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short -count=1 ./...

vet:
	$(GO) vet ./...

## proto: regenerate the Go code in proto/ (needs protoc; installed from Debian's packages when missing)
proto:
	@command -v protoc >/dev/null 2>&1 || ./hack/install-protoc.sh
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" ./hack/genproto.sh

## proto-check: fail when the committed generated code is stale
proto-check:
	./hack/verify-proto.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

clean:
	rm -rf $(BIN)
