package simulator

import "github.com/ftpsgw/ftpsgw/simulator/internal/settings"

// Duration is a time.Duration written as "15m" in YAML (a setting's value type).
type Duration = settings.Duration
