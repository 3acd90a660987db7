// Package openapiv2 holds the OpenAPI v2 document of the PBTS REST API,
// generated from proto/pbts/v1 (buf.gen.yaml merges the services into one
// file); the gateway serves it at /openapi.json. This file is written by
// hand and kept by `make generate`.
package openapiv2

import _ "embed"

// JSON is pbts.swagger.json.
//
//go:embed pbts.swagger.json
var JSON []byte
