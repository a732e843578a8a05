/**
 * The COMMENT of a box-score line. NBA.com pads it with spaces to a fixed width and puts
 * the reason a player sat after a code: "DNP - Coach's Decision", "DND - Injury/Illness",
 * "NWT - Not With Team".
 */
const DID_NOT_PLAY = /^(DNP|DND|NWT)\s*-\s*(.*)$/i;

export interface Comment {
  /** Trimmed comment, null when empty. */
  comment: string | null;
  /** The reason after `DNP -`/`DND -`/`NWT -`, null when the player played. */
  dnpReason: string | null;
}

export function parseComment(raw: string | null): Comment {
  const comment = raw?.trim() || null;
  if (comment === null) return { comment, dnpReason: null };
  const m = DID_NOT_PLAY.exec(comment);
  return { comment, dnpReason: m ? m[2]?.trim() || m[1]?.toUpperCase() || null : null };
}
