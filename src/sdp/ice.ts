/** ICE attribute checks (RFC 8839). Candidates are carried as strings; only their shape is checked. */
import { type Parsed, problem, result } from "./findings.ts";
import { show } from "./text.ts";

// RFC 8839 §5.4: ice-ufrag = 4*256ice-char; ice-pwd = 22*256ice-char; ice-char = ALPHA / DIGIT / "+" / "/"
export function parseIceUfrag(text: string): Parsed<string> {
  if (!/^[A-Za-z0-9+/]{4,256}$/.test(text)) {
    return result<string>(undefined, [problem("E_ICE_UFRAG", `ice-ufrag ${show(text, 40)} is not 4-256 ice-chars`)]);
  }
  return result(text, []);
}

export function parseIcePwd(text: string): Parsed<string> {
  if (!/^[A-Za-z0-9+/]{22,256}$/.test(text)) {
    return result<string>(undefined, [problem("E_ICE_PWD", "ice-pwd is not 22-256 ice-chars")]);
  }
  return result(text, []);
}

/**
 * RFC 8839 §5.1: candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP priority SP
 * connection-address SP port SP cand-type [...] *(SP extension-att-name SP extension-att-value)
 */
export function checkCandidate(text: string): Parsed<string> {
  const ok = /^[A-Za-z0-9+/]{1,32} \d{1,5} \S+ \d{1,10} \S+ \d{1,5} typ [A-Za-z0-9-]+(?: \S+ \S+)*$/.test(text);
  if (!ok) return result<string>(text, [problem("W_ICE_CANDIDATE", `candidate ${show(text, 60)} is malformed`)]);
  return result(text, []);
}
