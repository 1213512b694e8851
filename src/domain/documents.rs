//! What a request's documents are: their kinds, the content types the mechanism accepts, and
//! how a file is recognised by its bytes (never by its name or the type a client claims).
//! No I/O: `recognise` reads the first bytes of a file and, for a zip container, the names
//! and first bytes of its entries, which the caller supplies.

vocabulary!(
    /// The part a document plays in the case file.
    DocumentKind {
        RequestLetter = "request_letter",
        Annex = "annex",
        Translation = "translation",
        Response = "response",
        Correspondence = "correspondence",
        Other = "other",
    }
);

vocabulary!(
    /// The content types a case file may hold (the allow list), by what their bytes show.
    MediaType {
        Pdf = "application/pdf",
        Docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Odt = "application/vnd.oasis.opendocument.text",
        Ods = "application/vnd.oasis.opendocument.spreadsheet",
        Png = "image/png",
        Jpeg = "image/jpeg",
        Tiff = "image/tiff",
        Text = "text/plain",
        Eml = "message/rfc822",
        Msg = "application/vnd.ms-outlook",
    }
);

impl MediaType {
    /// The file name extension a download is saved under.
    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Pdf => "pdf",
            MediaType::Docx => "docx",
            MediaType::Xlsx => "xlsx",
            MediaType::Odt => "odt",
            MediaType::Ods => "ods",
            MediaType::Png => "png",
            MediaType::Jpeg => "jpg",
            MediaType::Tiff => "tif",
            MediaType::Text => "txt",
            MediaType::Eml => "eml",
            MediaType::Msg => "msg",
        }
    }

    /// In words, for the screens and for refusals.
    pub fn label(self) -> &'static str {
        match self {
            MediaType::Pdf => "PDF",
            MediaType::Docx => "Word document",
            MediaType::Xlsx => "Excel workbook",
            MediaType::Odt => "OpenDocument text",
            MediaType::Ods => "OpenDocument spreadsheet",
            MediaType::Png => "PNG image",
            MediaType::Jpeg => "JPEG image",
            MediaType::Tiff => "TIFF image",
            MediaType::Text => "Plain text",
            MediaType::Eml => "Email message",
            MediaType::Msg => "Outlook message",
        }
    }
}

/// What a zip container holds, as far as recognising it needs: its entry names, and the
/// content of its `mimetype` entry (OpenDocument files start with one).
pub struct ZipContents<'a> {
    pub names: &'a [String],
    pub mimetype: Option<&'a [u8]>,
}

/// The accepted types, in words, for a refusal.
pub const ACCEPTED: &str = "PDF, Word (.docx), Excel (.xlsx), OpenDocument text or spreadsheet \
                            (.odt, .ods), PNG, JPEG, TIFF, plain text (UTF-8), email (.eml) or \
                            Outlook message (.msg)";

/// Whether the bytes start like a zip container (then `recognise` needs its contents).
pub fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

/// The type of a file from its first bytes (up to 64 KiB; all of it when shorter) and,
/// for a zip container, its contents. `None`: not on the allow list.
pub fn recognise(head: &[u8], whole: bool, zip: Option<&ZipContents<'_>>) -> Option<MediaType> {
    if head.starts_with(b"%PDF-") {
        return Some(MediaType::Pdf);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(MediaType::Png);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(MediaType::Jpeg);
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return Some(MediaType::Tiff);
    }
    if is_zip(head) {
        let zip = zip?;
        let has = |name: &str| zip.names.iter().any(|n| n == name);
        if has("[Content_Types].xml") && has("word/document.xml") {
            return Some(MediaType::Docx);
        }
        if has("[Content_Types].xml") && has("xl/workbook.xml") {
            return Some(MediaType::Xlsx);
        }
        return match zip.mimetype {
            Some(b"application/vnd.oasis.opendocument.text") => Some(MediaType::Odt),
            Some(b"application/vnd.oasis.opendocument.spreadsheet") => Some(MediaType::Ods),
            _ => None,
        };
    }
    // An OLE2 compound file is an Outlook message when it holds MAPI property streams
    // (named `__substg1.0_…`, in UTF-16 in its directory); other OLE2 files (old .doc,
    // .xls, installers) are not accepted.
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        let marker: Vec<u8> = "__substg1.0_"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        return head
            .windows(marker.len())
            .any(|w| w == marker.as_slice())
            .then_some(MediaType::Msg);
    }
    text_type(head, whole)
}

/// Plain text (UTF-8, no control characters but tab, line breaks and form feed), and an
/// email message when it starts with mail headers.
fn text_type(head: &[u8], whole: bool) -> Option<MediaType> {
    if head.is_empty() {
        return None;
    }
    // A cut at 64 KiB may split a character: only the last three bytes may be incomplete.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if !whole && e.error_len().is_none() && head.len() - e.valid_up_to() <= 3 => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
    {
        return None;
    }
    let header = |line: &str| {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        line.contains(':')
            && [
                "from",
                "to",
                "subject",
                "date",
                "received",
                "return-path",
                "message-id",
                "mime-version",
                "delivered-to",
            ]
            .contains(&name.as_str())
    };
    let first: Vec<&str> = text
        .lines()
        .take_while(|l| !l.is_empty())
        .take(40)
        .collect();
    let mail = first.len() >= 2
        && first
            .iter()
            .filter(|l| !l.starts_with([' ', '\t']))
            .all(|l| l.contains(':'))
        && first.iter().filter(|l| header(l)).count() >= 2;
    Some(if mail {
        MediaType::Eml
    } else {
        MediaType::Text
    })
}

/// A file name as people may read it: the last part of any path, without control
/// characters or characters that mean something to a file system or a header, at most 200
/// characters. Only for display and the download's suggested name; storage never uses it.
pub fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '"' | '<' | '>' | ':' | '|' | '?' | '*' | ';' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let cleaned: String = cleaned.chars().take(200).collect();
    if cleaned.is_empty() {
        "document".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(bytes: &[u8]) -> Option<MediaType> {
        recognise(bytes, true, None)
    }

    #[test]
    fn files_are_known_by_their_bytes() {
        assert_eq!(kind(b"%PDF-1.7\n..."), Some(MediaType::Pdf));
        assert_eq!(kind(b"\x89PNG\r\n\x1a\n...."), Some(MediaType::Png));
        assert_eq!(kind(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(MediaType::Jpeg));
        assert_eq!(kind(b"II*\0...."), Some(MediaType::Tiff));
        assert_eq!(
            kind("Letter of request\r\nÜberwachung, سوريا\n".as_bytes()),
            Some(MediaType::Text)
        );
        let mail =
            b"From: a@justice.example\r\nTo: rfa@mechanism.example\r\nSubject: RFA\r\n\r\nBody";
        assert_eq!(kind(mail), Some(MediaType::Eml));
        // An executable renamed .pdf, a script, a binary blob, an old Word file.
        assert_eq!(kind(b"MZ\x90\0\x03\0\0\0"), None);
        assert_eq!(kind(b"\x7fELF\x02\x01\x01"), None);
        assert_eq!(kind(b"text with a \0 NUL"), None);
        assert_eq!(
            kind(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0]),
            None
        );
        assert_eq!(kind(b""), None);
    }

    #[test]
    fn zip_containers_are_known_by_what_they_hold() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let docx = names(&["[Content_Types].xml", "word/document.xml"]);
        let z = ZipContents {
            names: &docx,
            mimetype: None,
        };
        assert_eq!(
            recognise(b"PK\x03\x04", true, Some(&z)),
            Some(MediaType::Docx)
        );
        let odt = names(&["mimetype", "content.xml"]);
        let z = ZipContents {
            names: &odt,
            mimetype: Some(b"application/vnd.oasis.opendocument.text"),
        };
        assert_eq!(
            recognise(b"PK\x03\x04", true, Some(&z)),
            Some(MediaType::Odt)
        );
        let other = names(&["payload.exe"]);
        let z = ZipContents {
            names: &other,
            mimetype: None,
        };
        assert_eq!(recognise(b"PK\x03\x04", true, Some(&z)), None);
        assert_eq!(recognise(b"PK\x03\x04", true, None), None);
    }

    #[test]
    fn file_names_are_cleaned_for_display() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\x\\Letter.pdf"), "Letter.pdf");
        assert_eq!(clean_file_name("a\u{0}b\r\n\"c\".pdf"), "ab_c_.pdf");
        assert_eq!(clean_file_name(".hidden"), "hidden");
        assert_eq!(clean_file_name("/"), "document");
        assert_eq!(clean_file_name(&"x".repeat(300)).chars().count(), 200);
    }
}
