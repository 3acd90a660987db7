package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// importKey gives the CLI a fresh key and returns its address.
func importKey(t *testing.T, cli *pbtsCLI) string {
	t.Helper()
	key, _ := crypto.GenerateKey()
	if code, out, errs := cli.run(fmt.Sprintf("%x\n", crypto.FromECDSA(key)), "key", "import", "--light"); code != 0 {
		t.Fatalf("key import: %d %s %s", code, out, errs)
	}
	return crypto.PubkeyToAddress(key.PublicKey).Hex()
}

// storedPasskey is the passkey `pbts register` kept in the CLI's home.
func storedPasskey(t *testing.T, cli *pbtsCLI) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cli.home, ".pbts", "agent.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Passkey string `json:"passkey"`
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Passkey == "" {
		t.Fatalf("agent.json %s: %v", b, err)
	}
	return st.Passkey
}

func errKindOf(t *testing.T, out string) string {
	t.Helper()
	var v struct {
		Error struct {
			Kind    string `json:"kind"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not a JSON error: %q", out)
	}
	return v.Error.Kind + ": " + v.Error.Message
}

// The invite registration policy against the real tracker, through the
// pbts command: a stranger is refused, a bootstrap agent that has uploaded
// to others invites one address, which then registers, invited by it.
func TestInviteOnlyTracker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The bootstrap agents' keys exist before the tracker starts.
	bootKey, _ := crypto.GenerateKey()
	helperKey, _ := crypto.GenerateKey()
	bootAddr, helperAddr := crypto.PubkeyToAddress(bootKey.PublicKey).Hex(), crypto.PubkeyToAddress(helperKey.PublicKey).Hex()
	s := newStackWith(t, 4*MiB, map[string]string{
		"PBTS_REGISTRATION":      "invite",
		"PBTS_BOOTSTRAP_AGENTS":  bootAddr + "," + helperAddr,
		"PBTS_INVITE_MIN_UPLOAD": fmt.Sprint(256 * KiB),
	})
	bootCLI, helperCLI, guestCLI, strangerCLI := newCLI(t, s), newCLI(t, s), newCLI(t, s), newCLI(t, s)
	for _, c := range []struct {
		cli *pbtsCLI
		key string
	}{{bootCLI, fmt.Sprintf("%x\n", crypto.FromECDSA(bootKey))}, {helperCLI, fmt.Sprintf("%x\n", crypto.FromECDSA(helperKey))}} {
		if code, out, errs := c.cli.run(c.key, "key", "import", "--light"); code != 0 {
			t.Fatalf("key import: %d %s %s", code, out, errs)
		}
		var reg struct {
			PasskeyStored bool `json:"passkey_stored"`
		}
		c.cli.json(&reg, "register")
	}
	strangerAddr := importKey(t, strangerCLI)
	if code, out, _ := strangerCLI.run("", "register", "--json"); code == 0 || !strings.Contains(errKindOf(t, out), "permission_denied: this tracker registers invited agents only") {
		t.Fatalf("stranger registered: %d %s", code, out)
	}
	guestAddr := importKey(t, guestCLI)
	// Before it has uploaded anything to others, boot may not invite.
	if code, out, _ := bootCLI.run("", "invite", guestAddr, "--json"); code == 0 || !strings.Contains(errKindOf(t, out), "failed_precondition: inviter") {
		t.Fatalf("invitation by an agent that uploaded nothing: %d %s", code, out)
	}
	// boot uploads two pieces to helper (helper's receipts), then invites.
	boot, helper := agent{Key: bootKey, Passkey: storedPasskey(t, bootCLI)}, agent{Key: helperKey, Passkey: storedPasskey(t, helperCLI)}
	mi, sums, _ := dataset(t, t.TempDir(), "invite.bin", 512*KiB, 21)
	ih := s.publish(t, boot, mi, sums, "invite", pbtsv1.Modality_MODALITY_AUDIO, nil)
	announceAs(t, s.Announce, boot.Passkey, ih, "-PB0001-boot00000000", 0)
	announceAs(t, s.Announce, helper.Passkey, ih, "-PB0001-help00000000", 512*KiB)
	rs := signedReceipts(t, s, ih, sums, 256*KiB, boot, helper, 0, 2)
	waitUntil(t, ctx, "helper's receipts accepted", func() bool {
		r, err := s.ReceiptsC.SubmitReceipts(ctx, &pbtsv1.SubmitReceiptsRequest{Receipts: rs})
		return err == nil && r.AcceptedCount+r.DuplicateCount == 2
	})
	var inv struct {
		Invitation struct {
			Invitee string `json:"invitee"`
		} `json:"invitation"`
		Left uint32 `json:"invitations_left"`
	}
	waitUntil(t, ctx, "boot's invitation (once its upload is seen)", func() bool {
		code, out, _ := bootCLI.run("", "invite", guestAddr, "--json")
		return code == 0 && json.Unmarshal([]byte(out), &inv) == nil
	})
	if !strings.EqualFold(inv.Invitation.Invitee, guestAddr) || inv.Left != 4 {
		t.Fatalf("invitation %+v", inv)
	}
	var reg struct {
		PasskeyStored bool `json:"passkey_stored"`
	}
	guestCLI.json(&reg, "register")
	g, err := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: guestAddr})
	if err != nil || !reg.PasskeyStored || !strings.EqualFold(g.Agent.InvitedBy, bootAddr) {
		t.Fatalf("guest: %+v %v, %v; want registered, invited by %s", reg, g, err, bootAddr)
	}
	var list struct {
		Invitations []struct {
			Invitee string `json:"invitee"`
			Used    string `json:"used_at"`
		} `json:"invitations"`
	}
	bootCLI.json(&list, "invite", "--list")
	if len(list.Invitations) != 1 || list.Invitations[0].Used == "" {
		t.Fatalf("invitation list %+v", list)
	}
	if code, out, _ := strangerCLI.run("", "register", "--json"); code == 0 {
		t.Fatalf("the stranger registered after all: %s (%s)", out, strangerAddr)
	}
}
