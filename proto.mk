# proto.mk: regenerate the plugin protocol's Go code (included by Makefile).
#
# protoc comes from Debian's protobuf-compiler (3.21.12); the Go plugins are
# pinned in tools/go.mod and built into bin/ (gitignored).

PROTO_DIR := sdk/protocol/internal/connectorpb
PROTO_BIN := $(CURDIR)/bin

.PHONY: proto
proto:
	go build -modfile=tools/go.mod -o $(PROTO_BIN)/ \
		google.golang.org/protobuf/cmd/protoc-gen-go \
		google.golang.org/grpc/cmd/protoc-gen-go-grpc
	protoc -I $(PROTO_DIR) \
		--plugin=protoc-gen-go=$(PROTO_BIN)/protoc-gen-go \
		--plugin=protoc-gen-go-grpc=$(PROTO_BIN)/protoc-gen-go-grpc \
		--go_out=$(PROTO_DIR) --go_opt=paths=source_relative \
		--go-grpc_out=$(PROTO_DIR) --go-grpc_opt=paths=source_relative \
		$(PROTO_DIR)/connector.proto
