package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// A client pages through a limit/offset listing, with a token.
func Example() {
	// A stand-in for a vendor API with 5 employees, 2 per page, that
	// answers the first request with 503.
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls++; calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Authorization") != "Bearer key-123" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		var data []int
		for id := offset + 1; id <= min(offset+limit, 5); id++ {
			data = append(data, id)
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data, "meta": map[string]int{"count": 5}})
	}))
	defer srv.Close()

	client, err := rest.New(rest.Options{
		BaseURL: srv.URL + "/rest/v1", // plain http is accepted for loopback only
		Auth:    auth.Static{Value: "key-123"},
		Name:    "example",
		Policy:  rest.Policy{InitialInterval: 1}, // retry at once, for the example
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.CloseIdleConnections()

	ctx := context.Background()
	pages := rest.LimitOffset{Limit: 2}.Start()
	for more := true; more; {
		req := rest.Request{Path: "/employees", Label: "stream employees"}
		pages.Apply(&req)
		var page struct {
			Data []int
			Meta struct{ Count int }
		}
		if err := client.Do(ctx, req, rest.DecodeJSON(&page)); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("offset", req.Query.Get("offset"), "ids", page.Data)
		more, err = pages.Next(rest.PageInfo{Items: len(page.Data), Total: page.Meta.Count})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	// Output:
	// offset 0 ids [1 2]
	// offset 2 ids [3 4]
	// offset 4 ids [5]
}
