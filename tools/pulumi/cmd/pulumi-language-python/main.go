// Command pulumi-language-python is a minimal Pulumi language host for Python programs.
//
// Pulumi's own Python language host lives in a Go module of its own
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) that is never tagged, and the Go module
// proxy reachable from this project's machines refuses every version of it. This host implements the part of
// the LanguageRuntime gRPC service that `pulumi preview/up/refresh/destroy` use, against the pinned
// github.com/pulumi/pulumi/sdk/v3: it reports its version, reports no required plugins (so the engine never
// tries to download one: offline by design), and runs the program with the project's virtualenv through the
// `pulumi-language-python-exec` script that ships beside it, exactly as Pulumi's host does.
//
// Not implemented (the engine treats Unimplemented as "not supported"): dependency installation (`make venv`
// does that), `pulumi about` details, code generation, packing and plugin running.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// exitCodeUserActionable is what pulumi-language-python-exec returns after it has shown the error to the user.
const exitCodeUserActionable = 32

type pythonHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	execScript    string
}

func main() {
	engineAddress := ""
	for _, arg := range os.Args[1:] {
		// The engine passes its own address last; flags such as -tracing or -root come before it.
		if !strings.HasPrefix(arg, "-") {
			engineAddress = arg
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: cannot find its own path: %v\n", err)
		os.Exit(1)
	}
	host := &pythonHost{
		engineAddress: engineAddress,
		execScript:    filepath.Join(filepath.Dir(self), "pulumi-language-python-exec"),
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: could not start the gRPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
		os.Exit(1)
	}
}

// GetPluginInfo reports the version this host was built for (stamped with -ldflags).
func (h *pythonHost) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPlugins reports none: every plugin this project needs is either ambient (the dynamic provider
// script on PATH) or, for pulumi-cloudflare, installed by the user when a Cloudflare resource is used.
func (h *pythonHost) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// GetRequiredPackages reports none, for the same reason as GetRequiredPlugins.
func (h *pythonHost) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// Run executes the program with the project's Python, the way Pulumi's own host does.
func (h *pythonHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	root := info.GetRootDirectory()
	if root == "" {
		root = req.GetPwd()
	}
	python, err := pythonCommand(root, info.GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	program := req.GetProgram()
	if info.GetProgramDirectory() != "" {
		program = filepath.Join(info.GetProgramDirectory(), info.GetEntryPoint())
	}
	args := []string{
		"-u", h.execScript,
		"--monitor", req.GetMonitorAddress(),
		"--engine", h.engineAddress,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", req.GetPwd(),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
		"--root_directory", root,
	}
	if req.GetDryRun() {
		args = append(args, "--dry_run", "true")
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization", req.GetOrganization())
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	// Never "null": the exec script iterates over both.
	configMap := map[string]string{}
	for k, v := range req.GetConfig() {
		configMap[k] = v
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(append([]string{}, req.GetConfigSecretKeys()...))
	if err != nil {
		return nil, err
	}

	cmd := exec.CommandContext(ctx, python, args...) //nolint:gosec // the program is the user's own
	cmd.Dir = req.GetPwd()
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
	)
	// runpy puts a program directory on sys.path, but not the directory of a program file
	// (`main: __main__.py`): do it here so the program imports its sibling packages either way.
	programDir := info.GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	pythonPath := programDir
	if existing := os.Getenv("PYTHONPATH"); existing != "" {
		pythonPath += string(os.PathListSeparator) + existing
	}
	cmd.Env = append(cmd.Env, "PYTHONPATH="+pythonPath)
	if venv := virtualenvDir(root, info.GetOptions().AsMap()); venv != "" {
		cmd.Env = append(cmd.Env, "VIRTUAL_ENV="+venv, "PATH="+filepath.Join(venv, "bin")+":"+os.Getenv("PATH"))
	}

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitCodeUserActionable:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run %s: %v", python, err)}, nil
	}
}

// virtualenvDir is the absolute path of the `virtualenv` runtime option of Pulumi.yaml, or "".
func virtualenvDir(root string, options map[string]any) string {
	venv, _ := options["virtualenv"].(string)
	if venv == "" {
		return ""
	}
	if !filepath.IsAbs(venv) {
		venv = filepath.Join(root, venv)
	}
	return venv
}

// pythonCommand picks the interpreter: the project's virtualenv, else PULUMI_PYTHON_CMD, else python3.
func pythonCommand(root string, options map[string]any) (string, error) {
	if venv := virtualenvDir(root, options); venv != "" {
		python := filepath.Join(venv, "bin", "python")
		if _, err := os.Stat(python); err != nil {
			return "", fmt.Errorf(
				"the virtualenv %q named in Pulumi.yaml does not exist: run `make venv` "+
					"(or python3 -m venv %s && %s/bin/pip install -r requirements.txt)", venv, venv, venv)
		}
		return python, nil
	}
	if cmd := os.Getenv("PULUMI_PYTHON_CMD"); cmd != "" {
		return cmd, nil
	}
	return "python3", nil
}
