// Package jsonrpc is the JSON-RPC 2.0 client shared by the Go tools in tests/host: the
// end-to-end test and the local-network controller both talk to a chain's
// /ext/bc/<chainID>/rpc through it.
package jsonrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxResponseBytes bounds how much of an answer is read.
const maxResponseBytes = 4 << 20

// Error is a JSON-RPC error object.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("JSON-RPC error %d: %s %s", e.Code, e.Message, e.Data)
}

// Call posts one request for method (params omitted when nil; an object or,
// as the eth_ API takes them, an array) to url and decodes the result into
// out (skipped when nil). A JSON-RPC error comes back as *Error, wrapped with
// the method's name.
func Call(ctx context.Context, client *http.Client, url, method string, params, out any) error {
	req := map[string]any{"jsonrpc": "2.0", "id": 1, "method": method}
	if params != nil {
		req["params"] = params
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *Error          `json:"error"`
	}
	if err := Post(ctx, client, url, req, &env); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if env.Error != nil {
		return fmt.Errorf("%s: %w", method, env.Error)
	}
	if out != nil {
		if err := json.Unmarshal(env.Result, out); err != nil {
			return fmt.Errorf("%s: result %.200s: %w", method, env.Result, err)
		}
	}
	return nil
}

// Post posts body as JSON to url and decodes the answer into out: the
// transport under Call, and what sends a JSON-RPC batch (an array of
// requests) whose answer is an array.
func Post(ctx context.Context, client *http.Client, url string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("content-type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.300s", res.StatusCode, rb)
	}
	if err := json.Unmarshal(rb, out); err != nil {
		return fmt.Errorf("%w: %.300s", err, rb)
	}
	return nil
}
