package app

import "github.com/loopstart/loopstart/voice/gateway"

// LoopSplitPorts is how many busy ports make the media loop share a frame
// across its workers (gateway.LoopSplitPorts), for --loop-workers' help.
const LoopSplitPorts = gateway.LoopSplitPorts

// CheckLoopWorkers refuses an Options.LoopWorkers value the gateway would
// refuse (gateway.CheckLoopWorkers), before anything starts.
func CheckLoopWorkers(n int) error { return gateway.CheckLoopWorkers(n) }
