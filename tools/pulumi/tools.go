//go:build tools

// Package tools pins the Pulumi CLI that `make pulumi` builds (see build.sh).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
