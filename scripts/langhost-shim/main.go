// langhost-shim: a Pulumi language host for nodejs, python or go, made of two parts.
//
// Why: the language hosts that match the Pulumi CLI we build (v3.259) live in Go modules that
// the module proxy here refuses (403 for github.com/pulumi/pulumi/sdk/<lang>/...); the newest
// hosts the proxy serves are the ones that were still packages of github.com/pulumi/pulumi/sdk/v3
// (v3.68.0 for nodejs and python, v3.62.0 for go). Those run programs fine under the v3.259
// engine, but predate the GeneratePackage RPC that `pulumi package gen-sdk` calls.
//
// What: this program is installed as `pulumi-language-<lang>`. It starts the old host
// (`pulumi-language-<lang>-legacy`, same directory, same arguments), listens on its own port,
// and forwards every gRPC call to the old host byte for byte, except
// /pulumirpc.LanguageRuntime/GeneratePackage, which it answers itself with the code generator of
// github.com/pulumi/pulumi/pkg/v3 at the CLI's version.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodegen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	pygen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const generatePackageMethod = "/pulumirpc.LanguageRuntime/GeneratePackage"

const maxMessage = 400 << 20

// frame is one undecoded gRPC message.
type frame struct{ data []byte }

// rawCodec moves frames without decoding them.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	f, ok := v.(*frame)
	if !ok {
		return nil, fmt.Errorf("langhost-shim: cannot marshal %T", v)
	}
	return f.data, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return fmt.Errorf("langhost-shim: cannot unmarshal into %T", v)
	}
	f.data = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "langhost-shim: "+format+"\n", args...)
	os.Exit(1)
}

// language is taken from the executable's name: pulumi-language-<lang>.
func language() string {
	name := filepath.Base(os.Args[0])
	lang := strings.TrimPrefix(name, "pulumi-language-")
	switch lang {
	case "nodejs", "python", "go":
		return lang
	}
	fail("run as pulumi-language-nodejs, pulumi-language-python or pulumi-language-go, not %q", name)
	return ""
}

// startLegacy starts the old host and returns its address once it has printed its port.
func startLegacy(lang string) (*exec.Cmd, string) {
	self, err := os.Executable()
	if err != nil {
		fail("cannot find own executable: %v", err)
	}
	legacy := filepath.Join(filepath.Dir(self), "pulumi-language-"+lang+"-legacy")
	cmd := exec.Command(legacy, os.Args[1:]...)
	cmd.Stderr = os.Stderr
	// The old host dies with us even if we are killed outright (main's thread is locked).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		fail("%v", err)
	}
	if err := cmd.Start(); err != nil {
		fail("cannot start %s: %v", legacy, err)
	}
	reader := bufio.NewReader(out)
	line, err := reader.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		fail("%s printed no port: %v", legacy, err)
	}
	port := strings.TrimSpace(line)
	// Anything the old host prints later goes to our stderr, never to our stdout.
	go func() { _, _ = io.Copy(os.Stderr, reader) }()
	return cmd, "127.0.0.1:" + port
}

type proxy struct {
	lang   string
	legacy *grpc.ClientConn
}

// handle serves every call: GeneratePackage here, everything else forwarded.
func (p *proxy) handle(_ any, stream grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(stream)
	if !ok {
		return status.Error(codes.Internal, "langhost-shim: no method name")
	}
	if method == generatePackageMethod {
		return p.generatePackage(stream)
	}
	return p.forward(method, stream)
}

func (p *proxy) forward(method string, in grpc.ServerStream) error {
	ctx, cancel := context.WithCancel(in.Context())
	defer cancel()
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		ctx = metadata.NewOutgoingContext(ctx, md.Copy())
	}
	desc := &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}
	out, err := p.legacy.NewStream(ctx, desc, method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return err
	}
	// Client to old host.
	upErr := make(chan error, 1)
	go func() {
		for {
			f := &frame{}
			if err := in.RecvMsg(f); err != nil {
				if errors.Is(err, io.EOF) {
					upErr <- out.CloseSend()
				} else {
					upErr <- err
				}
				return
			}
			if err := out.SendMsg(f); err != nil {
				upErr <- err
				return
			}
		}
	}()
	// Old host to client.
	headerSent := false
	for {
		f := &frame{}
		err := out.RecvMsg(f)
		if !headerSent {
			if md, herr := out.Header(); herr == nil && len(md) > 0 {
				_ = in.SendHeader(md)
			}
			headerSent = true
		}
		if err != nil {
			in.SetTrailer(out.Trailer())
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := in.SendMsg(f); err != nil {
			return err
		}
		select {
		case e := <-upErr:
			if e != nil {
				return e
			}
			upErr = nil // client side done; keep draining responses
		default:
		}
	}
}

func (p *proxy) generatePackage(stream grpc.ServerStream) error {
	f := &frame{}
	if err := stream.RecvMsg(f); err != nil {
		return err
	}
	req := &pulumirpc.GeneratePackageRequest{}
	if err := proto.Unmarshal(f.data, req); err != nil {
		return status.Errorf(codes.InvalidArgument, "GeneratePackageRequest: %v", err)
	}
	resp, err := p.generate(req)
	if err != nil {
		return status.Error(codes.Unknown, err.Error())
	}
	data, err := proto.Marshal(resp)
	if err != nil {
		return err
	}
	return stream.SendMsg(&frame{data: data})
}

func (p *proxy) generate(req *pulumirpc.GeneratePackageRequest) (*pulumirpc.GeneratePackageResponse, error) {
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.Schema), &spec); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	var loader schema.ReferenceLoader
	if req.LoaderTarget != "" {
		client, err := schema.NewLoaderClient(req.LoaderTarget)
		if err != nil {
			return nil, err
		}
		defer client.Close()
		loader = schema.NewCachedLoader(client)
	}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{})
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}
	if diags.HasErrors() {
		return resp, nil
	}
	tool := "pulumi-language-" + p.lang
	var files map[string][]byte
	switch p.lang {
	case "nodejs":
		files, err = nodegen.GeneratePackage(tool, pkg, req.ExtraFiles, req.LocalDependencies, req.Local, loader)
	case "python":
		files, err = pygen.GeneratePackage(tool, pkg, req.ExtraFiles, loader)
	case "go":
		if len(req.ExtraFiles) > 0 {
			return nil, errors.New("overlays are not supported for Go")
		}
		files, err = gogen.GeneratePackage(tool, pkg, req.LocalDependencies)
	}
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		path := filepath.Join(req.Directory, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

func main() {
	runtime.LockOSThread()
	lang := language()
	cmd, addr := startLegacy(lang)

	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
	if err != nil {
		_ = cmd.Process.Kill()
		fail("cannot dial the old host at %s: %v", addr, err)
	}
	p := &proxy{lang: lang, legacy: conn}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = cmd.Process.Kill()
		fail("%v", err)
	}
	server := grpc.NewServer(
		grpc.ForceServerCodec(rawCodec{}),
		grpc.UnknownServiceHandler(p.handle),
		grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)

	// Stop when the old host exits, or pass a signal on to it.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	go func() {
		signals := make(chan os.Signal, 2)
		signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
		for s := range signals {
			_ = cmd.Process.Signal(s)
		}
	}()
	go func() {
		err := <-done
		server.Stop()
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}()
	if err := server.Serve(lis); err != nil {
		fail("%v", err)
	}
}
