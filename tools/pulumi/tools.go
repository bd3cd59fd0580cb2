//go:build tools

// Package tools pins the Pulumi CLI build (see ../../Makefile target `pulumi`).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
