// The one catalogue of Waybill's error codes. Codes are stable: once released, a code keeps its meaning
// (add new codes, never repurpose old ones). Each X12 validation code says where it maps in the
// acknowledgments, so the 997/999/TA1 a partner receives and the diagnostics an analyst reads state the
// same facts:
//   ta105  TA1 interchange note code (element I18)
//   ak905  997/999 AK905-AK909 functional group error code (716)
//   ak502  997 AK502-AK506 / 999 IK502-IK506 transaction set error code (718 / 618)
//   ak304  997 AK304 / 999 IK304 segment syntax error code (720 / 620)
//   ak403  997 AK403 / 999 IK403 element syntax error code (723 / 621)
// An issue at segment or element level also marks its transaction with ak502 = 5 ("one or more segments
// in error"), which the builders add themselves.
// Besides the envelope levels, `level` is 'config' for problems in configuration read before any document
// (gateway config, partner.yaml, mapping files, code tables, test cases: what `waybill lint` reports), and
// 'system' for the gateway's own state (its ledger database).
// Every code here is emitted somewhere in src/, or says why not in `reserved`
// (test/errors/catalogue.test.ts checks both directions).

export type Severity = 'error' | 'warning';

export type Level = 'file' | 'interchange' | 'group' | 'transaction' | 'segment' | 'element' | 'config' | 'system';

export interface CatalogueEntry {
  severity: Severity;
  /** One line: what is wrong, in words an analyst understands. */
  summary: string;
  /** Which envelope level the finding belongs to ('config' / 'system': see the top of this file). */
  level: Level;
  /** Set when no code path emits the code (yet): why it is in the catalogue all the same. */
  reserved?: string;
  ta105?: string;
  ak905?: string;
  ak502?: string;
  ak304?: string;
  ak403?: string;
}

const entries = {
  // ---- file level: nothing usable as an interchange ----
  X12_EMPTY_FILE: { severity: 'error', level: 'file', summary: 'the file is empty or holds only whitespace' },
  X12_NO_ISA: { severity: 'error', level: 'file', summary: 'no ISA interchange header where one was expected', ta105: '024' },
  X12_BARE_TRANSACTION: { severity: 'error', level: 'file', summary: 'a transaction set (ST..SE) outside any ISA/GS envelope', ta105: '024' },
  X12_UNEXPECTED_DATA: { severity: 'error', level: 'file', summary: 'data that is not X12 where a segment was expected' },
  X12_UTF16_TEXT: { severity: 'warning', level: 'file', summary: 'the file is UTF-16 text (a Notepad "Unicode" save, a PowerShell redirect); it is read as the characters it holds, but X12 is sent as ASCII or UTF-8' },
  X12_READ_FAILED: { severity: 'error', level: 'file', summary: 'the file could not be read',
    reserved: 'not emitted: an unreadable file is CLI_FILE_UNREADABLE in the CLI and a pipeline fault in the gateway' },

  // ---- interchange (ISA/IEA) ----
  X12_ISA_TRUNCATED: { severity: 'error', level: 'interchange', summary: 'the ISA segment ends before its 16 elements', ta105: '023' },
  X12_ISA_ELEMENT_COUNT: { severity: 'error', level: 'interchange', summary: 'the ISA segment does not have exactly 16 elements', ta105: '024' },
  X12_PADDED_LINES: { severity: 'warning', level: 'interchange', summary: 'segments end at the line break and each line is padded with spaces to a fixed length; the padding is dropped, not read as data' },
  X12_ISA_NOT_FIXED_WIDTH: { severity: 'warning', level: 'interchange', summary: 'the ISA is not 106 characters of fixed-width fields' },
  // One code per ISA field, each with the TA105 note that names it (element I18). Errors leave the
  // interchange unaddressable, unnumbered, of unknown syntax or of unknown standing (test or production):
  // the TA1 rejects it. Warnings are codes outside their list in fields that change nothing in how the
  // interchange is read or answered: the TA1 notes them (TA104 E). Why each is which: envelope.ts.
  X12_ISA_FIELD_INVALID: {
    severity: 'error', level: 'interchange',
    summary: 'an ISA field has an invalid value (ISA13 or ISA14, before each ISA field had a code of its own)',
    reserved: 'no longer emitted: ISA13 is X12_ISA_CONTROL_INVALID and ISA14 X12_ISA_ACK_REQUESTED_INVALID, so the TA1 names the field (TA105 018, 019); kept so the code keeps its meaning in older ledgers',
  },
  X12_ISA_AUTH_QUALIFIER_INVALID: { severity: 'warning', level: 'interchange', summary: 'ISA01 authorization information qualifier is not a code of its list (00 to 06)', ta105: '010' },
  X12_ISA_SECURITY_QUALIFIER_INVALID: { severity: 'warning', level: 'interchange', summary: 'ISA03 security information qualifier is neither 00 nor 01', ta105: '012' },
  X12_ISA_SENDER_QUALIFIER_INVALID: { severity: 'warning', level: 'interchange', summary: 'ISA05 interchange sender id qualifier is not an interchange id qualifier (01, 02, 14, ZZ, ...)', ta105: '005' },
  X12_ISA_SENDER_ID_MISSING: { severity: 'error', level: 'interchange', summary: 'ISA06 interchange sender id is blank: the interchange cannot be attributed or answered', ta105: '006' },
  X12_ISA_RECEIVER_QUALIFIER_INVALID: { severity: 'warning', level: 'interchange', summary: 'ISA07 interchange receiver id qualifier is not an interchange id qualifier (01, 02, 14, ZZ, ...)', ta105: '007' },
  X12_ISA_RECEIVER_ID_MISSING: { severity: 'error', level: 'interchange', summary: 'ISA08 interchange receiver id is blank: the interchange is addressed to nobody', ta105: '008' },
  X12_ISA_DATE_INVALID: { severity: 'error', level: 'interchange', summary: 'ISA09 is not a date (YYMMDD)', ta105: '014' },
  X12_ISA_TIME_INVALID: { severity: 'error', level: 'interchange', summary: 'ISA10 is not a time (HHMM)', ta105: '015' },
  X12_ISA_STANDARDS_ID_INVALID: { severity: 'warning', level: 'interchange', summary: 'ISA11 is not U (ASC X12), the only interchange control standards identifier before version 00402', ta105: '016' },
  // No TA105 note names a repetition separator; the interchange is read, without one.
  X12_ISA_REPETITION_SEPARATOR_INVALID: { severity: 'warning', level: 'interchange', summary: 'ISA11 (version 00402 and later) cannot be a repetition separator (a letter, digit or space, or another delimiter): repeated elements are read as one value' },
  X12_ISA_VERSION_INVALID: { severity: 'error', level: 'interchange', summary: 'ISA12 is no interchange control version (not 5 digits, or no published version: 00000, 00999)', ta105: '017' },
  X12_ISA_VERSION_UNSUPPORTED: { severity: 'error', level: 'interchange', summary: 'ISA12 reads as an interchange control version later than the ones Waybill knows (after 00801)', ta105: '003' },
  // Its default severity holds for a non-numeric ISA13; a numeric one not 9 digits wide is a warning
  // (envelope.ts): such files are common and still read unambiguously.
  X12_ISA_CONTROL_INVALID: { severity: 'error', level: 'interchange', summary: 'ISA13 interchange control number is not 9 digits (not numeric: an error; numeric but of another width: a warning)', ta105: '018' },
  X12_ISA_ACK_REQUESTED_INVALID: { severity: 'warning', level: 'interchange', summary: 'ISA14 acknowledgment requested is neither 0 nor 1', ta105: '019' },
  X12_ISA_USAGE_INVALID: { severity: 'error', level: 'interchange', summary: 'ISA15 usage indicator is not P (production), T (test) or I (information): whether the data is production is unknown', ta105: '020' },
  X12_INVALID_DELIMITERS: { severity: 'error', level: 'interchange', summary: 'the delimiters declared in the ISA are ambiguous or invalid', ta105: '026' },
  X12_IEA_MISSING: { severity: 'error', level: 'interchange', summary: 'the interchange has no IEA trailer', ta105: '023' },
  X12_IEA_WITHOUT_ISA: { severity: 'error', level: 'interchange', summary: 'an IEA trailer without a matching ISA header', ta105: '024' },
  X12_IEA_CONTROL_MISMATCH: { severity: 'error', level: 'interchange', summary: 'IEA02 does not match ISA13', ta105: '001' },
  X12_IEA_COUNT_MISMATCH: { severity: 'error', level: 'interchange', summary: 'IEA01 does not equal the number of functional groups', ta105: '021' },
  X12_DUPLICATE_INTERCHANGE_CONTROL: { severity: 'error', level: 'interchange', summary: 'the same ISA13 appears twice from one sender in one file', ta105: '025' },
  X12_SEGMENT_OUTSIDE_GROUP: { severity: 'error', level: 'interchange', summary: 'a segment between ISA and IEA that is not inside a functional group', ta105: '024' },
  // Data after an IEA without an ISA of its own has no TA1 to answer it; the interchange it follows is
  // accepted (its header and trailer are sound) but its TA1 notes the loss (E, 024). The data itself is
  // also a file-level error (X12_BARE_TRANSACTION, X12_IEA_WITHOUT_ISA, ...).
  X12_DATA_AFTER_INTERCHANGE: { severity: 'warning', level: 'interchange', summary: 'X12 segments (a group, a transaction set, a trailer) follow the interchange\'s IEA without an ISA of their own: they are not read and nothing acknowledges them', ta105: '024' },

  // ---- functional group (GS/GE) ----
  X12_GE_MISSING: { severity: 'error', level: 'group', summary: 'the functional group has no GE trailer', ak905: '3' },
  X12_GE_WITHOUT_GS: { severity: 'error', level: 'group', summary: 'a GE trailer without a matching GS header', ak905: '3' },
  X12_GE_CONTROL_MISMATCH: { severity: 'error', level: 'group', summary: 'GE02 does not match GS06', ak905: '4' },
  X12_GE_COUNT_MISMATCH: { severity: 'error', level: 'group', summary: 'GE01 does not equal the number of transaction sets', ak905: '5' },
  X12_GS_FIELD_INVALID: { severity: 'warning', level: 'group', summary: 'GS04 is not a date, GS05 not a time, or GS07 neither X nor T; the group is read all the same' },
  X12_GS_CONTROL_INVALID: { severity: 'error', level: 'group', summary: 'GS06 is not a 1-9 digit number', ak905: '6' },
  X12_GS_ELEMENT_MISSING: { severity: 'error', level: 'group', summary: 'a mandatory GS element is missing', ak905: '1' },
  X12_DUPLICATE_GROUP_CONTROL: { severity: 'error', level: 'group', summary: 'the same GS06 appears twice in one interchange', ak905: '19' },
  X12_GROUP_VERSION_UNSUPPORTED: { severity: 'warning', level: 'group', summary: 'the GS08 version is not one Waybill has schemas for',
    reserved: 'not emitted yet: a version without schemas is reported per transaction set as X12_TRANSACTION_NOT_SUPPORTED' },
  X12_GROUP_REJECTED: { severity: 'error', level: 'transaction', summary: 'the transaction set is inside a functional group whose GS header has errors: the 997/999 rejects the group (AK9 R), so its sets are not translated' },
  X12_INTERCHANGE_REJECTED: { severity: 'error', level: 'transaction', summary: 'the transaction set is inside an interchange whose ISA header has errors: the TA1 rejects the interchange, so its sets are not translated' },
  X12_GROUP_FUNCTIONAL_ID_MISMATCH: { severity: 'warning', level: 'group', summary: 'GS01 does not match the transaction sets the group holds' },

  // ---- transaction set (ST/SE) ----
  X12_SE_MISSING: { severity: 'error', level: 'transaction', summary: 'the transaction set has no SE trailer', ak502: '2' },
  X12_SE_WITHOUT_ST: { severity: 'error', level: 'transaction', summary: 'an SE trailer without a matching ST header', ak502: '2' },
  X12_SE_CONTROL_MISMATCH: { severity: 'error', level: 'transaction', summary: 'SE02 does not match ST02', ak502: '3' },
  X12_SE_COUNT_MISMATCH: { severity: 'error', level: 'transaction', summary: 'SE01 does not equal the number of segments ST..SE', ak502: '4' },
  X12_ST_SET_ID_INVALID: { severity: 'error', level: 'transaction', summary: 'ST01 is missing or not a transaction set identifier', ak502: '6' },
  X12_ST_CONTROL_INVALID: { severity: 'error', level: 'transaction', summary: 'ST02 is missing or not 4-9 characters', ak502: '7' },
  X12_DUPLICATE_TRANSACTION_CONTROL: { severity: 'error', level: 'transaction', summary: 'the same ST02 appears twice in one functional group', ak502: '23' },
  X12_TRANSACTION_NOT_SUPPORTED: { severity: 'warning', level: 'transaction', summary: 'no schema for this transaction set; checked at the envelope level only' },
  X12_TRANSACTION_SEGMENTS_IN_ERROR: { severity: 'error', level: 'transaction', summary: 'one or more segments in error', ak502: '5',
    reserved: 'never a finding of its own: the ack builders add AK502/IK502 = 5 for segment and element issues; documents the mapping' },

  // ---- segment level (schema) ----
  X12_SEGMENT_TOO_LONG: { severity: 'error', level: 'segment', summary: 'a segment is longer than the most Waybill reads as one (1 MiB): it is skipped up to its terminator and its transaction set is rejected; the rest of the interchange is read', ak304: '8' },
  X12_SEGMENT_UNRECOGNIZED: { severity: 'error', level: 'segment', summary: 'unrecognized segment id', ak304: '1' },
  X12_SEGMENT_UNEXPECTED: { severity: 'error', level: 'segment', summary: 'segment not expected here', ak304: '2' },
  X12_SEGMENT_MANDATORY_MISSING: { severity: 'error', level: 'segment', summary: 'a mandatory segment is missing', ak304: '3' },
  X12_LOOP_OVER_MAX: { severity: 'error', level: 'segment', summary: 'a loop occurs more often than its maximum', ak304: '4' },
  X12_SEGMENT_OVER_MAX: { severity: 'error', level: 'segment', summary: 'a segment occurs more often than its maximum use', ak304: '5' },
  X12_SEGMENT_NOT_IN_SET: { severity: 'error', level: 'segment', summary: 'segment not defined in this transaction set', ak304: '6' },
  X12_SEGMENT_OUT_OF_ORDER: { severity: 'error', level: 'segment', summary: 'segment not in its proper sequence', ak304: '7' },
  X12_SEGMENT_HAS_ELEMENT_ERRORS: { severity: 'error', level: 'segment', summary: 'segment has data element errors', ak304: '8',
    reserved: 'not emitted by the validator: element codes carry AK304 = 8 themselves; documents the mapping (the ack builder tests use it)' },

  // ---- element level (schema) ----
  X12_ELEMENT_MANDATORY_MISSING: { severity: 'error', level: 'element', summary: 'a mandatory data element is missing', ak304: '8', ak403: '1' },
  X12_ELEMENT_CONDITIONAL_MISSING: { severity: 'error', level: 'element', summary: 'a conditionally required data element is missing', ak304: '8', ak403: '2' },
  X12_ELEMENT_TOO_MANY: { severity: 'error', level: 'element', summary: 'too many data elements in the segment', ak304: '8', ak403: '3' },
  X12_ELEMENT_TOO_SHORT: { severity: 'error', level: 'element', summary: 'data element too short', ak304: '8', ak403: '4' },
  X12_ELEMENT_TOO_LONG: { severity: 'error', level: 'element', summary: 'data element too long', ak304: '8', ak403: '5' },
  X12_ELEMENT_INVALID_CHARACTER: { severity: 'error', level: 'element', summary: 'invalid character in data element', ak304: '8', ak403: '6' },
  X12_ELEMENT_INVALID_CODE: { severity: 'error', level: 'element', summary: 'invalid code value', ak304: '8', ak403: '7' },
  X12_ELEMENT_INVALID_DATE: { severity: 'error', level: 'element', summary: 'invalid date', ak304: '8', ak403: '8' },
  X12_ELEMENT_INVALID_TIME: { severity: 'error', level: 'element', summary: 'invalid time', ak304: '8', ak403: '9' },
  X12_ELEMENT_EXCLUSION_VIOLATED: { severity: 'error', level: 'element', summary: 'exclusion condition violated', ak304: '8', ak403: '10' },
  X12_ELEMENT_TOO_MANY_REPETITIONS: { severity: 'error', level: 'element', summary: 'too many repetitions', ak304: '8', ak403: '12' },
  X12_ELEMENT_TOO_MANY_COMPONENTS: { severity: 'error', level: 'element', summary: 'too many components', ak304: '8', ak403: '13' },

  // ---- writer ----
  X12_WRITE_DELIMITER_IN_DATA: { severity: 'error', level: 'element', summary: 'a data value contains one of the delimiters and cannot be written' },
  X12_WRITE_CHARACTER_INVALID: { severity: 'error', level: 'element', summary: 'a data value holds a control character (a CR or LF) or half of a surrogate pair, which X12 data cannot carry' },
  X12_WRITE_INVALID_DELIMITERS: { severity: 'error', level: 'interchange', summary: 'the delimiters chosen for writing are not distinct single characters' },
  X12_WRITE_VALUE_TOO_LONG: { severity: 'error', level: 'element', summary: 'a value does not fit its fixed-width ISA/GS field' },
  X12_WRITE_VALUE_INVALID: { severity: 'error', level: 'element', summary: 'a value is not valid for its envelope field (wrong length, non-numeric control number, bad segment id)' },

  // ---- inbound acknowledgments (997/999/TA1 parsing) ----
  X12_ACK_MALFORMED: { severity: 'error', level: 'transaction', summary: 'an inbound acknowledgment could not be interpreted' },

  // ---- CSV (src/translators/csv). level 'file' = fatal for the file; 'segment' = one CSV record, which is
  // reported and skipped while its siblings are read on ----
  CSV_EMPTY_FILE: { severity: 'error', level: 'file', summary: 'the CSV file holds no records (empty, or blank lines only)' },
  CSV_READ_FAILED: { severity: 'error', level: 'file', summary: 'the CSV source could not be read' },
  CSV_OPTIONS_INVALID: { severity: 'error', level: 'file', summary: 'invalid CSV reader or writer options (delimiter, quote, escape, column names, sizes)' },
  CSV_HEADER_INVALID: { severity: 'error', level: 'file', summary: 'the CSV header row is unreadable or has an empty or duplicate column name' },
  CSV_QUOTE_NOT_CLOSED: { severity: 'error', level: 'segment', summary: 'a quoted CSV field is never closed (the file ends inside it, or it runs over lines past the maximum record size)' },
  CSV_QUOTE_INVALID: { severity: 'error', level: 'segment', summary: 'a quote inside an unquoted CSV field, or characters after a closing quote' },
  CSV_FIELD_COUNT: { severity: 'error', level: 'segment', summary: 'the CSV record does not have the expected number of fields' },
  CSV_RECORD_TOO_LARGE: { severity: 'error', level: 'segment', summary: 'the CSV record is larger than the configured maximum record size' },
  CSV_INVALID_ENCODING: { severity: 'error', level: 'segment', summary: 'the CSV record holds bytes that are not valid in the declared encoding' },
  CSV_NUL_CHARACTER: { severity: 'error', level: 'segment', summary: 'the CSV record holds a NUL character (a corrupt or binary record); the other records are read' },
  CSV_RECORD_MALFORMED: { severity: 'error', level: 'segment', summary: 'the CSV record could not be parsed' },
  CSV_WRITE_INVALID_VALUE: { severity: 'error', level: 'element', summary: 'a value given to the CSV writer is not a string (or a row is not an array)' },

  // ---- XML (src/translators/xml). A document is read whole: every reader code rejects the document ----
  XML_TOO_LARGE: { severity: 'error', level: 'file', summary: 'the XML document is larger than the configured size cap' },
  XML_INVALID_ENCODING: { severity: 'error', level: 'file', summary: 'the XML document holds bytes that are not valid in its encoding' },
  XML_ENCODING_UNSUPPORTED: { severity: 'error', level: 'file', summary: 'the XML declaration names an encoding Waybill does not read' },
  XML_DOCTYPE_FORBIDDEN: { severity: 'error', level: 'file', summary: 'the XML document has a DOCTYPE or other DTD declaration; DTDs (and so custom and external entities) are refused' },
  XML_MALFORMED: { severity: 'error', level: 'file', summary: 'the XML document is not well-formed' },
  XML_TOO_DEEP: { severity: 'error', level: 'file', summary: 'the XML elements are nested deeper than the configured maximum' },
  XML_ENTITY_LIMIT: { severity: 'error', level: 'file', summary: 'entity expansion in the XML document exceeded a configured limit' },
  XML_PATH_INVALID: { severity: 'error', level: 'file', summary: 'an XML selection path is not valid path syntax' },
  XML_WRITE_INVALID_VALUE: { severity: 'error', level: 'element', summary: 'a value given to the XML writer is not a string, or holds a character XML 1.0 cannot carry' },
  XML_WRITE_INVALID_NAME: { severity: 'error', level: 'element', summary: 'an element or attribute name given to the XML writer is not a valid XML name' },

  // ---- remote SFTP: polling partners' servers and pushing to them (src/transports/sftp/remote) ----
  SFTP_REMOTE_HOSTKEY_MISMATCH: { severity: 'error', level: 'file', summary: 'the remote SFTP server presented a host key whose fingerprint is not the pinned one; the connection was refused' },
  SFTP_REMOTE_CONNECT_FAILED: { severity: 'error', level: 'file', summary: 'the remote SFTP server could not be reached or refused the login; retried with backoff' },
  SFTP_REMOTE_KEY_UNAVAILABLE: { severity: 'error', level: 'file', summary: 'the private key for the remote SFTP server cannot be read or used (missing file, unset environment variable, not a key, encrypted without or with a wrong passphrase)' },
  SFTP_REMOTE_AUTH_FAILED: { severity: 'error', level: 'file', summary: 'the remote SFTP server (its host key matched) refused the login with the configured user name and key; retried with backoff' },
  SFTP_REMOTE_CONFIG_INVALID: { severity: 'error', level: 'file', summary: "a partner's transports.remote block is not valid",
    reserved: 'not emitted: an invalid transports.remote block is reported when partner.yaml is loaded, as PARTNER_TRANSPORT_INVALID' },
  SFTP_REMOTE_SIZE_MISMATCH: { severity: 'error', level: 'file', summary: 'the downloaded file is not the size the server listed; it was not taken in' },
  SFTP_REMOTE_FILE_CHANGED: { severity: 'warning', level: 'file', summary: 'the remote file changed while it was downloaded; it is taken on a later poll' },
  SFTP_REMOTE_REMOVE_FAILED: { severity: 'error', level: 'file', summary: 'the remote SFTP server refused the delete or move of a file already taken in (permissions, every archive name taken); it stays recorded as taken, is not taken again, and the delete/move is retried on every poll' },
  SFTP_REMOTE_STALLED: { severity: 'warning', level: 'file', summary: "the remote SFTP server left a request unanswered for operationTimeoutSeconds (its SFTP side is stuck); the connection was closed and the poll or push is retried with backoff" },
  SFTP_REMOTE_NAME_UNREADABLE: { severity: 'error', level: 'file', summary: 'a remote file name is not valid UTF-8 (e.g. Latin-1), so SFTP cannot ask for it by name; it is left on the server, to be renamed there' },
  SFTP_REMOTE_LIST_FAILED: { severity: 'error', level: 'file', summary: 'a poll directory on the remote SFTP server is missing or may not be listed; the other poll directories are still polled, and it is tried again on the next poll' },
  SFTP_REMOTE_NOT_REGULAR_FILE: { severity: 'warning', level: 'file', summary: 'a symlink on the remote SFTP server matches a poll pattern; symlinks are never taken (said once per poller)' },
  SFTP_REMOTE_READ_FAILED: { severity: 'error', level: 'file', summary: 'the remote SFTP server refused to let a listed file be read (permissions); the file is left there, the other files are taken, and it is tried again on the next poll' },

  // ---- hosted SFTP server: partners' mailboxes on our side (src/transports/sftp/server) ----
  SFTP_AUTH_FAILED: { severity: 'warning', level: 'file', summary: 'a login to the hosted SFTP server failed (unknown user, unlisted key, bad signature, wrong or disabled password)' },
  SFTP_AUTH_BLOCKED: { severity: 'warning', level: 'file', summary: 'an address reached maxAuthFailuresPerAddress failed logins; its password attempts to the hosted SFTP server are refused until authFailureWindowMs passes without one' },
  SFTP_ACCESS_REVOKED: { severity: 'warning', level: 'file', summary: 'a hosted SFTP connection was closed: its account was removed, or the key, password or address it logged in with is no longer allowed' },
  SFTP_ADDRESS_NOT_ALLOWED: { severity: 'warning', level: 'file', summary: "a login came from an address outside the account's allowFrom list" },
  SFTP_SESSION_LIMIT: { severity: 'warning', level: 'file', summary: 'an SFTP session was refused: the account already has maxSessions sessions open' },
  SFTP_PATH_REFUSED: { severity: 'warning', level: 'file', summary: "a path outside the account's mailbox root (.. escape) or with forbidden characters was refused" },
  SFTP_OPERATION_REFUSED: { severity: 'warning', level: 'file', summary: 'an SFTP request the mailbox does not allow (links, folders, writing into outbound/ or /, renaming outside inbound/, more than 64 unfinished uploads in one session) was refused' },
  SFTP_NOT_REGULAR_FILE: { severity: 'warning', level: 'file', summary: 'something in a mailbox that is not a regular file was hidden or refused' },
  SFTP_NAME_NOT_ACCEPTED: { severity: 'warning', level: 'file', summary: "an upload name is neither temporary nor a final name the account's completion rule accepts" },
  SFTP_FILE_BUSY: { severity: 'warning', level: 'file', summary: 'the file is being written or taken in by another request; try again' },
  SFTP_FILE_TOO_LARGE: { severity: 'error', level: 'file', summary: "an upload went past the account's maxFileBytes; the write failed and the partial file was deleted" },
  SFTP_WRITE_FAILED: { severity: 'error', level: 'file', summary: 'an upload could not be written to disk; the partial file was deleted' },
  SFTP_UPLOAD_LEFT_OVER: { severity: 'warning', level: 'file', summary: 'at start, a hosted inbound folder holds a file a previous run did not finish with (an upload cut short, or one taken in whose removal failed); it is not taken in and is left for an operator' },
  SFTP_UPLOAD_INCOMPLETE: { severity: 'warning', level: 'file', summary: 'a session ended before its upload was completed (closed, or renamed from its temporary name); the partial file was deleted, nothing was taken in' },
  SFTP_INTAKE_FAILED: { severity: 'error', level: 'file', summary: 'a completed upload could not be taken in; the uploader got a failure and the file was kept for a retry' },
  SFTP_HOST_KEY_INVALID: { severity: 'error', level: 'file', summary: 'the hosted SFTP server host key file cannot be read as an unencrypted private key' },

  // ---- local inbound folder (src/transports/folder) ----
  FOLDER_INTAKE_FAILED: { severity: 'error', level: 'file', summary: 'a file in the inbound folder could not be taken in; it stays where it is and is retried with backoff' },
  FOLDER_AFTER_INTAKE_FAILED: { severity: 'error', level: 'file', summary: 'a file taken in from the inbound folder could not be archived or deleted; it is not taken in again, and the archive/delete is retried with backoff' },
  FOLDER_ENTRY_IGNORED: { severity: 'warning', level: 'file', summary: 'an entry of the inbound folder is never taken in: a folder inside a partner folder, or something that is not a regular file (a symbolic link, a fifo); what it holds stays there' },
  FOLDER_FILE_CHANGED: { severity: 'warning', level: 'file', summary: 'a file in the inbound folder changed while it was taken in (its writer still had it open); the copy taken may be partial, and the file is taken again once it settles' },

  // ---- outbound delivery (src/transports/delivery) ----
  DELIVERY_TARGET_EXISTS: { severity: 'error', level: 'file', summary: 'the outbound file name already exists at the partner and onExists is fail' },
  DELIVERY_NO_TRANSPORT: { severity: 'warning', level: 'file', summary: 'the partner has no outbound transport (no remote block, no hosted account); documents stay pending' },
  DELIVERY_UPLOAD_FAILED: { severity: 'error', level: 'file', summary: "the partner's SFTP server refused the upload of an outbound document (disk full, permission denied, missing folder); the temporary file is removed, nothing appears under the final name, and it is retried with backoff" },
  DELIVERY_RENAME_FAILED: { severity: 'error', level: 'file', summary: "the partner's SFTP server took the upload under its temporary name but refused the rename to the final name (permissions: some servers allow writing but not renaming); the temporary file is removed and the document retried with backoff" },
  DELIVERY_CONNECTION_LOST: { severity: 'error', level: 'file', summary: "the connection to the partner's SFTP server dropped during a delivery; the document is retried with backoff on a new connection (an unfinished upload stays under its temporary name, never the final one)" },
  DELIVERY_FAILED: { severity: 'error', level: 'file', summary: 'an outbound document could not be delivered; retried with backoff' },

  // ---- pipeline (files that cannot be translated; recorded on the file in the ledger) ----
  PIPELINE_STORED_FILE_MISSING: { severity: 'error', level: 'file', summary: 'the stored copy of a file taken in is missing from the data directory' },
  PIPELINE_TRANSLATION_FAULT: { severity: 'error', level: 'file', summary: 'translation failed with a fault that retrying will not heal' },
  PIPELINE_TRANSIENT_FAULT: { severity: 'warning', level: 'file', summary: 'translation stopped on a fault that heals by itself (a full disk, a busy database, too many open files); the file is retried, and the cause is logged beside the code' },
  PIPELINE_TOO_MANY_ATTEMPTS: { severity: 'error', level: 'file', summary: 'translation was started too many times without finishing (it probably crashes the process)' },
  PARTNER_UNKNOWN: { severity: 'error', level: 'file', summary: 'a CSV or XML file arrived without a known partner (folder or account)' },
  PIPELINE_NOT_TEXT: { severity: 'error', level: 'file', summary: 'the file is not text Waybill reads (X12, CSV or XML): a compressed archive, a PDF or office document, an image, or other binary data' },
  PIPELINE_FILE_OTHER_PARTNER: { severity: 'warning', level: 'file', summary: "the same bytes as a file already taken in for one partner arrived through another partner's folder or account; the file stays the first partner's and is not translated again (a failed file would have been re-opened instead)" },
  PIPELINE_EMPTY_FILE: { severity: 'error', level: 'file', summary: 'the file taken in is empty or holds only whitespace (and Ctrl-Z end-of-file marks); there is nothing to translate' },

  // ---- CLI / usage ----
  CLI_FILE_NOT_FOUND: { severity: 'error', level: 'file', summary: 'no such file' },
  CLI_FILE_UNREADABLE: { severity: 'error', level: 'file', summary: 'the file cannot be read' },
  CLI_USAGE: { severity: 'error', level: 'file', summary: 'the command was called with wrong arguments' },
  CLI_START_FAILED: { severity: 'error', level: 'system', summary: "waybill serve could not start the gateway (a port in use, a damaged ledger, a folder it cannot create, ...); the message names the cause's own code, and what had started was stopped" },
  CLI_COMMAND_INVALID: { severity: 'error', level: 'file', summary: 'the command JSON given to waybill render is not a valid canonical command (not JSON, unknown type, or failing its schema); one line per problem, with its path' },

  // ---- mapping language, compile time (src/mappings: waybill lint, partner load). level 'config': the
  // mapping file is wrong and is not used until it is fixed. Errors unless marked warning ----
  MAP_SPEC_INVALID: { severity: 'error', level: 'config', summary: "a mapping entry has the wrong shape (e.g. 'fields' not a map, a required key missing, 'required' not true/false)" },
  MAP_UNKNOWN_KEY: { severity: 'error', level: 'config', summary: 'a mapping has a key that is not allowed where it stands (with a did-you-mean)' },
  MAP_UNKNOWN_TARGET: { severity: 'error', level: 'config', summary: "a mapping's target is unknown: no such canonical event type (inbound), or no such output format or transaction-set schema (outbound)" },
  MAP_UNKNOWN_COMMAND: { severity: 'error', level: 'config', summary: "an outbound mapping's source is not a known canonical command type" },
  MAP_VERSION_INVALID: { severity: 'error', level: 'config', summary: "an inbound mapping's version is not an X12 version Waybill has the transaction set's schema for, or is given on a CSV or XML mapping" },
  MAP_SOURCE_MISMATCH: { severity: 'error', level: 'config', summary: "a mapping's source is not the document or command the partner.yaml entry that uses it declares" },
  MAP_TARGET_MISMATCH: { severity: 'error', level: 'config', summary: "an outbound mapping's target is not the format the partner.yaml outbound entry declares" },
  MAP_UNKNOWN_FIELD: { severity: 'error', level: 'config', summary: 'a mapping names a field the canonical event or command type does not have (with a did-you-mean)' },
  MAP_ENVELOPE_FIELD: { severity: 'error', level: 'config', summary: 'a mapping assigns an envelope field (id, type, partner, receivedAt, source) that the gateway fills' },
  MAP_FIELD_CONFLICT: { severity: 'error', level: 'config', summary: 'a canonical field is assigned twice, or given a value and a value for one of its sub-fields' },
  MAP_REQUIRED_FIELD_UNASSIGNED: { severity: 'error', level: 'config', summary: 'a field the canonical event type requires is never assigned by the mapping' },
  MAP_BAD_PATH: { severity: 'error', level: 'config', summary: 'a path in the mapping is not valid path syntax (X12 path, CSV column, XML path or command path)' },
  MAP_NOT_A_LOOP: { severity: 'error', level: 'config', summary: "a loop path ('foreach') names a segment that does not start a loop in the set (CSV records have no loops)" },
  MAP_LOOP_AT_SEVERAL_DEPTHS: { severity: 'warning', level: 'config', summary: "a loop path read from the transaction ('foreach', a top-level 'each') names loops that sit both directly in the transaction and inside other loops, and takes them all: ./N1 keeps to the transaction's own" },
  MAP_NOT_A_VALUE: { severity: 'error', level: 'config', summary: 'an outbound path names an object, a list of lists or the whole command where one value is needed' },
  MAP_NOT_A_LIST: { severity: 'error', level: 'config', summary: "an outbound 'each' names something that is not a list" },
  MAP_VALUE_NEVER_VALID: { severity: 'error', level: 'config', summary: "a value the canonical field never takes: an outbound filter or condition compares a command field with it (never matches), or an inbound constant, default or code-table value writes it (every such event would fail)" },
  MAP_UNKNOWN_TABLE: { severity: 'error', level: 'config', summary: 'a mapping names a code table that does not exist (with a did-you-mean)' },
  MAP_TABLE_INCOMPLETE: { severity: 'warning', level: 'config', summary: "a code table with 'unmapped: error' does not cover every value of the field it translates; such commands will fail" },
  MAP_UNKNOWN_FORMAT: { severity: 'error', level: 'config', summary: "an outbound value spec names a 'format' that does not exist" },
  MAP_UNKNOWN_SEGMENT: { severity: 'error', level: 'config', summary: 'a mapping names a segment id that is no segment of the X12 dictionary (with a did-you-mean)' },
  MAP_SEGMENT_NOT_IN_SET: { severity: 'error', level: 'config', summary: 'a mapping reads or writes a known X12 segment that is not part of this transaction set (with a did-you-mean)' },
  MAP_ENVELOPE_SEGMENT: { severity: 'error', level: 'config', summary: 'an outbound mapping lists ISA, GS, ST, SE, GE or IEA, which the gateway writes itself' },
  MAP_ELEMENT_OUT_OF_RANGE: { severity: 'error', level: 'config', summary: 'a mapping names an element or component position the segment does not have' },
  MAP_QUALIFIER_NEVER_VALID: { severity: 'error', level: 'config', summary: "a qualifier filter, condition value or constant uses a code that is never valid in the element's closed code list" },
  MAP_QUALIFIER_NEVER_FITS: { severity: 'error', level: 'config', summary: 'a qualifier filter value on an element without a closed code list never fits the element (its type, length, or a real date or time), so the filter never matches' },
  MAP_REPETITION_INVALID: { severity: 'error', level: 'config', summary: 'an X12 path reads a repetition (#N) the element cannot have: it is not repeatable, N is past its maximum, or the version (004010) has no repetition separator' },
  MAP_REQUIRED_SEGMENT_UNMAPPED: { severity: 'warning', level: 'config', summary: 'an outbound X12 mapping never writes a segment or loop the transaction set requires' },
  MAP_REQUIRED_ELEMENT_UNMAPPED: { severity: 'warning', level: 'config', summary: 'an outbound X12 mapping never fills a mandatory element of a segment it writes' },
  MAP_DUPLICATE_COLUMN: { severity: 'warning', level: 'config', summary: 'an outbound CSV mapping has two columns with the same name' },
  MAP_PARTNER_X12_MISSING: { severity: 'error', level: 'config', summary: "an outbound X12 mapping's partner has no 'x12' or no 'ours' section in partner.yaml (both identities are needed)" },
  MAP_PARTNER_X12_INVALID: { severity: 'error', level: 'config', summary: "the partner's X12 delimiters are refused by the X12 writer, so the outbound mapping cannot write" },

  // ---- mapping, run time (translate and render). level 'transaction': fails the transaction set, CSV
  // record, XML document or outbound command being mapped, never its siblings ----
  MAP_VERSION_UNSUPPORTED: { severity: 'error', level: 'transaction', summary: "a mapped X12 transaction set's version (GS08) has no schema, so its loops cannot be read: the unit fails rather than translating into no events" },
  MAP_NO_MAPPING: { severity: 'error', level: 'transaction', summary: 'the partner has no mapping for this document (X12 transaction set, CSV or XML file); it is not translated' },
  MAP_REQUIRED_MISSING: { severity: 'error', level: 'transaction', summary: "a value, segment or element marked 'required: true' has no value in the document or command" },
  MAP_CSV_COLUMN_MISSING: { severity: 'warning', level: 'file', summary: "a CSV mapping reads a column the file's header does not have: no record gets a value from it (a required field then fails every record)" },
  MAP_UNMAPPED_CODE: { severity: 'error', level: 'transaction', summary: "a code is not in the mapping's code table, and the table says 'unmapped: error'" },
  MAP_BAD_DATE: { severity: 'error', level: 'transaction', summary: 'a value is not a valid date (or a time has no date to go with it)' },
  MAP_BAD_TIME: { severity: 'error', level: 'transaction', summary: 'a value is not a valid time of day (or a date has no time where one is needed)' },
  MAP_BAD_DECIMAL: { severity: 'error', level: 'transaction', summary: 'a value is not a valid number for its format (decimal, implied decimals without rounding, coordinate)' },
  MAP_BAD_TIMEZONE: { severity: 'error', level: 'transaction', summary: "a time zone or X12 time code is unknown (lint also reports a bad 'timezone' in an outbound mapping)" },
  MAP_CANONICAL_INVALID: { severity: 'error', level: 'transaction', summary: "the event built does not satisfy its canonical schema, or the command to render is not of the mapping's type" },
  MAP_VALUE_INVALID: { severity: 'error', level: 'transaction', summary: 'a value does not fit its X12 element or XML text (type, format, code list, length, character) or is a list where one value goes; lint checks constants too' },
  MAP_VALUE_TOO_LONG: { severity: 'error', level: 'transaction', summary: "a value is longer than its X12 element allows ('truncate' cuts where that is acceptable); lint checks constants too" },
  MAP_DELIMITER_IN_DATA: { severity: 'error', level: 'transaction', summary: "a value holds one of the partner's X12 delimiters, so it cannot be written" },
  MAP_OUTPUT_INVALID: { severity: 'error', level: 'transaction', summary: 'the rendered X12 document fails X12 validation, so it is not sent' },

  // ---- partner configuration (partners/<id>: partner.yaml, code tables, test cases, any YAML file) ----
  PARTNER_FILE_MISSING: { severity: 'error', level: 'config', summary: 'a partner folder has no partner.yaml' },
  PARTNER_MAPPING_UNUSED: { severity: 'warning', level: 'config', summary: "a mapping file in a partner's mappings/ folder is named by no entry of partner.yaml: it is neither used nor checked" },
  PARTNER_CONFIG_INVALID: { severity: 'error', level: 'config', summary: 'partner.yaml is not valid (unknown or missing keys, wrong values, unknown time zone, bad X12 delimiters)' },
  PARTNER_ID_MISMATCH: { severity: 'error', level: 'config', summary: 'the id in partner.yaml differs from the name of its folder' },
  PARTNER_TRANSPORT_INVALID: { severity: 'error', level: 'config', summary: "the transports block of partner.yaml (sftp, remote, outbound) is not valid" },
  PARTNER_MAPPING_MISSING: { severity: 'error', level: 'config', summary: 'partner.yaml names a mapping file that does not exist' },
  PARTNER_DUPLICATE_ISA: { severity: 'error', level: 'config', summary: 'two partners claim the same ISA sender qualifier/id' },
  PARTNER_UNKNOWN_SENDER: { severity: 'error', level: 'interchange', summary: 'an inbound interchange comes from an ISA sender (or GS02 id) that no partner is configured with' },
  PARTNER_FORCED: { severity: 'warning', level: 'interchange', summary: "an interchange was translated as the partner named (waybill translate --partner) although its ISA sender is another partner's, or no partner's" },
  PARTNER_ACCOUNT_MISMATCH: { severity: 'error', level: 'interchange', summary: "an inbound interchange's ISA sender is not the partner whose folder or account it arrived through (or is unknown); it is neither translated nor acknowledged" },
  TABLE_UNUSED: { severity: 'warning', level: 'config', summary: "a code table file in a partner's tables/ folder is named by none of its mappings (a misspelt file name leaves the mappings on the shared table)" },
  TABLE_INVALID: { severity: 'error', level: 'config', summary: 'a code table file (tables/*.yaml) is not valid' },
  TABLE_CODE_SPACES: { severity: 'warning', level: 'config', summary: 'a code in a code table starts or ends with white space: codes are looked up exactly, so it matches only a value with the same spaces' },
  TEST_CASE_INVALID: { severity: 'error', level: 'config', summary: 'a partner test case file (waybill test) is not valid' },
  TEST_EXPECTED_MISSING: { severity: 'error', level: 'config', summary: 'a partner test case names an expected file (events, ack, output) that does not exist; waybill test --update creates it' },
  TEST_JSON_INVALID: { severity: 'error', level: 'config', summary: "a JSON file of a partner test case (its expected events, or an outbound case's command) is not valid JSON" },
  YAML_SYNTAX: { severity: 'error', level: 'config', summary: 'a configuration file is not valid YAML' },
  YAML_WARNING: { severity: 'warning', level: 'config', summary: 'the YAML parser has a warning about a configuration file; it is read all the same' },
  YAML_FILE_UNREADABLE: { severity: 'error', level: 'config', summary: 'a configuration file where YAML is expected is no readable file (a folder, a broken symbolic link, no permission)' },
  YAML_NOT_UTF8: { severity: 'error', level: 'config', summary: 'a configuration file is not UTF-8 text (a byte no UTF-8 character holds, or UTF-16): it is refused rather than read with replaced characters' },

  // ---- gateway configuration (waybill serve --config) ----
  GATEWAY_DATA_DIR_IN_USE: { severity: 'error', level: 'system', summary: 'another gateway is running on the same data folder; this one does not start' },
  CONFIG_FILE_MISSING: { severity: 'error', level: 'config', summary: 'the gateway configuration file does not exist' },
  CONFIG_FILE_UNREADABLE: { severity: 'error', level: 'config', summary: 'the gateway configuration file cannot be read (it is a folder, or permission is denied)' },
  CONFIG_INVALID: { severity: 'error', level: 'config', summary: 'the gateway configuration is not valid, or names an environment variable that is not set' },
  PARTNER_RELOAD_FAILED: { severity: 'error', level: 'system', summary: 'a partner reload could not read the partners folder (gone, not a folder, permission denied) or failed unexpectedly; the partners loaded before stay in use, and the reload is tried again at the next change' },

  // ---- ledger (src/ledger) ----
  LEDGER_OPEN_FAILED: { severity: 'error', level: 'system', summary: 'the ledger database cannot be opened (path, permissions, damaged file); the gateway does not start' },
  LEDGER_MISSING: { severity: 'error', level: 'system', summary: 'the data folder holds files taken in (files/) but its ledger is missing or empty (deleted, moved, truncated to nothing): the gateway does not start on a new, empty ledger, which would forget every file, event, acknowledgment and control number; restore the ledger, or move files/ aside to start anew on purpose' },
  LEDGER_CHECKPOINT_FAILED: { severity: 'warning', level: 'system', summary: "the ledger's background WAL checkpoints fail (a full disk, an I/O error); commits checkpoint by themselves meanwhile. Logged once per run of failures, then at most once a minute with the count, and its end is logged" },
  LEDGER_SCHEMA_TOO_NEW: { severity: 'error', level: 'system', summary: 'the ledger database was written by a newer Waybill; upgrade before starting on it' },
  TRANSLATION_WORKER_FAILED: { severity: 'error', level: 'system', summary: 'a translation worker thread failed (an error, a crash, out of memory) or exited before finishing, or the workers\' units did not line up; the translation of the file stops (waybill translate: run it again, or without workers; the gateway: the XML file it translated is failed, with this error on its unit)' },
  LEDGER_BATCH_INCOMPLETE: { severity: 'error', level: 'system', summary: 'rows staged for a translation batch were lost before it committed (the ledger commit thread restarted); the batch is not committed and the file is translated again from its last checkpoint' },
  LEDGER_COMMIT_THREAD_FAILED: { severity: 'error', level: 'system', summary: 'the ledger commit thread failed or exited with translation writes pending (they may or may not have committed); a new thread is started and the file is translated again from its last checkpoint' },
  LEDGER_BATCH_GAP: { severity: 'error', level: 'system', summary: "a translation batch came after one of the same file that did not commit; it is not committed either (the file's checkpoint never passes units not committed) and the file is translated again from its last checkpoint" },
  LEDGER_EVENT_ID_TAKEN: { severity: 'error', level: 'transaction', summary: "a unit's events were not recorded: the outbox already holds events with their ids and other content from another file (an interchange reusing the same control numbers, translated at the same moment as the other); the unit is marked failed" },
  LEDGER_CONTROL_EXHAUSTED: { severity: 'error', level: 'interchange', summary: "a partner's outbound interchange, group or transaction control numbers have reached their maximum; nothing more can be numbered" },
} satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof entries;

export const catalogue: Readonly<Record<ErrorCode, CatalogueEntry>> = entries;

export function entry(code: ErrorCode): CatalogueEntry {
  return catalogue[code];
}

export function isKnownCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(catalogue, code);
}

/** An error carrying a catalogue code, for failures that are thrown rather than collected. */
export class WaybillError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'WaybillError';
    this.code = code;
    this.details = details;
  }
}
