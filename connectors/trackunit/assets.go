package trackunit

import (
	"encoding/json"

	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// assets declares the assets stream: GET /api/asset/v1/assets, page-number
// paging from page 0 (docs/vendors/trackunit.md#assets,
// docs/vendors/trackunit.md#page-number-paging). It is a full refresh: the
// API offers no filter on changes.
func (s *source) assets(st *stream.Stream) {
	st.Records = []string{"content"}
	st.Pager = rest.PageNumber{Size: s.cfg.PageSize}
	st.Request = func(json.RawMessage) (rest.Request, error) {
		return rest.Request{Path: AssetsPath}, nil
	}
	st.Info = pageNumberInfo
}
