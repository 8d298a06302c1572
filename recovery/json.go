package recovery

import (
	"bytes"
	"encoding/json"
)

// jsonEqual compares two values by their JSON form, which is how they are
// stored, so "equal" means "storing b would change nothing".
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
