package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/chain/anviltest"
)

// TestLocalContractsJob runs the local overlay's deploy-contracts Job as
// written (its image's binary, args and env, the key its Secret holds)
// against a fresh anvil, twice: the first run lands the tracker exactly at
// the address pbts-chain gives every service; the second deploys nothing.
func TestLocalContractsJob(t *testing.T) {
	o := render(t, k8sDir(t, "overlays", "local"))
	var job *workload
	for _, w := range o.workloads() {
		if w.Name == "deploy-contracts" {
			job = &w
		}
	}
	if job == nil {
		t.Fatal("the local overlay has no deploy-contracts Job")
	}
	c := job.Pod.Spec.Containers[0]
	want := o.ConfigMaps["pbts-chain"].Data["PBTS_TRACKER_CONTRACT"]
	chain := anviltest.Start(t)

	// The key file the Secret volume mounts.
	keyDir := t.TempDir()
	var mount string
	for _, vm := range c.VolumeMounts {
		mount = vm.MountPath
	}
	for _, v := range job.Pod.Spec.Volumes {
		if v.Secret == nil {
			continue
		}
		for _, it := range v.Secret.Items {
			if err := os.WriteFile(filepath.Join(keyDir, it.Path), o.Secrets[v.Secret.SecretName].Data[it.Key], 0o400); err != nil {
				t.Fatal(err)
			}
		}
	}
	env := containerEnv(t, o, c)
	var args []string
	for _, a := range c.Args {
		for k, v := range env {
			a = strings.ReplaceAll(a, "$("+k+")", v)
		}
		args = append(args, strings.ReplaceAll(a, mount, keyDir))
	}
	run := func() map[string]any {
		t.Helper()
		cmd := exec.Command(filepath.Join(dockerBinaries(t), pbtsImage(c.Image)), args...)
		cmd.Env = append(os.Environ(), "PBTS_RPC_URL="+chain.URL) // the Secret's http://anvil:8545, here
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("deploy %v: %v\n%s", args, err, out)
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("deploy printed %q: %v", out, err)
		}
		return v
	}
	first := run()
	if got, _ := first["tracker"].(string); common.HexToAddress(got) != common.HexToAddress(want) {
		t.Fatalf("the Job deployed the tracker at %v; pbts-chain says %s", first["tracker"], want)
	}
	code, err := chain.Client.CodeAt(t.Context(), common.HexToAddress(want), nil)
	if err != nil || len(code) == 0 {
		t.Fatalf("no code at %s after the Job: %v", want, err)
	}
	if again := run(); again["alreadyDeployed"] != true {
		t.Fatalf("the second run: %v; want alreadyDeployed", again)
	}
}
