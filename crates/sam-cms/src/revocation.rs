//! Revocation values for CAdES-B-LT (ETSI EN 319 122-1 §5.5.1 and Table 1: certificates in
//! `SignedData.certificates`, CRLs and OCSP responses in `SignedData.crls`, the latter as
//! `id-ri-ocsp-response`, RFC 5940 §3): where they come from and how they are checked.

use der::asn1::SetOfVec;
use der::{Any, Decode, DecodePem, Encode};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints};

use crate::CmsError;
use crate::ocsp::{self, AD_OCSP, Status};
use crate::oids;
use crate::signed_data::{OtherRevocationInfoFormat, RevocationInfoChoice};
use crate::timestamp::Transport;
use crate::verify::{check_signature_by, is_self_signed, issued_by};

/// CRLs and OCSP responses (DER `OCSPResponse`) that show certificates unrevoked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationValues {
    /// Certificate revocation lists.
    pub crls: Vec<CertificateList>,
    /// DER `OCSPResponse`s.
    pub ocsp_responses: Vec<Vec<u8>>,
}

impl RevocationValues {
    /// Whether there is nothing.
    pub fn is_empty(&self) -> bool {
        self.crls.is_empty() && self.ocsp_responses.is_empty()
    }

    /// Adds `other`'s values that are not here yet.
    pub fn merge(&mut self, other: RevocationValues) {
        for crl in other.crls {
            if !self.crls.contains(&crl) {
                self.crls.push(crl);
            }
        }
        for response in other.ocsp_responses {
            if !self.ocsp_responses.contains(&response) {
                self.ocsp_responses.push(response);
            }
        }
    }
}

/// Where revocation values come from.
pub trait RevocationSource: Send + Sync {
    /// Checked values that show `cert`, issued by `issuer`, not revoked. A revoked
    /// certificate is an error: `sam` does not extend a signature by a revoked signer.
    fn revocation_values(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
    ) -> Result<RevocationValues, CmsError>;
}

/// What revocation values say about one certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// A CRL or OCSP response from the issuer shows it unrevoked.
    Good,
    /// A CRL or OCSP response from the issuer shows it revoked.
    Revoked,
    /// Nothing here speaks about it.
    NotCovered,
}

/// What `values` say about `cert` issued by `issuer`; only values whose signature checks
/// under the issuer (or, for OCSP, a responder it delegated to) count.
pub fn coverage(cert: &Certificate, issuer: &Certificate, values: &RevocationValues) -> Coverage {
    let mut good = false;
    for crl in &values.crls {
        match check_crl(crl, cert, issuer) {
            Ok(Status::Revoked) => return Coverage::Revoked,
            Ok(Status::Good) => good = true,
            _ => {}
        }
    }
    for response in &values.ocsp_responses {
        match ocsp::check_response(response, cert, issuer, None) {
            Ok(Status::Revoked) => return Coverage::Revoked,
            Ok(Status::Good) => good = true,
            _ => {}
        }
    }
    if good {
        Coverage::Good
    } else {
        Coverage::NotCovered
    }
}

/// Checks that `crl` is the issuer's (name and signature) and whether it lists `cert`.
pub fn check_crl(
    crl: &CertificateList,
    cert: &Certificate,
    issuer: &Certificate,
) -> Result<Status, CmsError> {
    let tbs = &crl.tbs_cert_list;
    if &tbs.issuer != cert.tbs_certificate().issuer() {
        return Err(CmsError::Revocation(
            "the CRL is not from the certificate's issuer".into(),
        ));
    }
    let tbs_der = tbs.to_der().map_err(CmsError::der("CRL"))?;
    let signature = crl
        .signature
        .as_bytes()
        .ok_or_else(|| CmsError::Revocation("the CRL signature has unused bits".into()))?;
    check_signature_by(&tbs_der, &crl.signature_algorithm, signature, issuer)
        .map_err(|e| CmsError::Revocation(format!("the CRL is not signed by the issuer: {e}")))?;
    let serial = cert.tbs_certificate().serial_number();
    let listed = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .any(|r| &r.serial_number == serial);
    Ok(if listed {
        Status::Revoked
    } else {
        Status::Good
    })
}

/// Revocation values the caller already has (e.g. from its own CA); each request gets the
/// ones that cover the certificate.
pub struct SuppliedRevocation {
    values: RevocationValues,
}

impl SuppliedRevocation {
    /// Serves `values`.
    pub fn new(values: RevocationValues) -> Self {
        Self { values }
    }
}

impl RevocationSource for SuppliedRevocation {
    fn revocation_values(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
    ) -> Result<RevocationValues, CmsError> {
        let mut out = RevocationValues::default();
        for crl in &self.values.crls {
            match check_crl(crl, cert, issuer) {
                Ok(Status::Revoked) => return Err(revoked(cert)),
                Ok(Status::Good) => out.crls.push(crl.clone()),
                _ => {}
            }
        }
        for response in &self.values.ocsp_responses {
            match ocsp::check_response(response, cert, issuer, None) {
                Ok(Status::Revoked) => return Err(revoked(cert)),
                Ok(Status::Good) => out.ocsp_responses.push(response.clone()),
                _ => {}
            }
        }
        if out.is_empty() {
            return Err(not_covered(cert));
        }
        Ok(out)
    }
}

/// Fetches revocation values as the certificate points to them: its OCSP responders
/// (authority information access, RFC 5280 §4.2.2.1) first, then its CRL distribution points
/// (RFC 5280 §4.2.1.13); `http` URLs only.
pub struct FetchingRevocationSource<T> {
    transport: T,
}

impl<T: Transport> FetchingRevocationSource<T> {
    /// Fetches through `transport`.
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    fn ask_ocsp_responder(
        &self,
        url: &str,
        cert: &Certificate,
        issuer: &Certificate,
    ) -> Result<Option<RevocationValues>, CmsError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| CmsError::Revocation(format!("nonce: {e}")))?;
        let request = ocsp::request(cert, issuer, nonce)?;
        let response = self
            .transport
            .post(url, "application/ocsp-request", &request)?;
        match ocsp::check_response(&response, cert, issuer, Some(nonce))? {
            Status::Good => Ok(Some(RevocationValues {
                crls: Vec::new(),
                ocsp_responses: vec![response],
            })),
            Status::Revoked => Err(revoked(cert)),
            Status::Unknown => Ok(None),
        }
    }

    fn fetch_crl(
        &self,
        url: &str,
        cert: &Certificate,
        issuer: &Certificate,
    ) -> Result<RevocationValues, CmsError> {
        let body = self.transport.get(url)?;
        let crl = if body.starts_with(b"-----BEGIN") {
            CertificateList::from_pem(&body)
        } else {
            CertificateList::from_der(&body)
        }
        .map_err(|e| CmsError::Revocation(format!("{url}: not a CRL: {e}")))?;
        match check_crl(&crl, cert, issuer)? {
            Status::Revoked => Err(revoked(cert)),
            _ => Ok(RevocationValues {
                crls: vec![crl],
                ocsp_responses: Vec::new(),
            }),
        }
    }
}

impl<T: Transport> RevocationSource for FetchingRevocationSource<T> {
    fn revocation_values(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
    ) -> Result<RevocationValues, CmsError> {
        let mut failures = Vec::new();
        for url in ocsp_urls(cert) {
            match self.ask_ocsp_responder(&url, cert, issuer) {
                Ok(Some(values)) => return Ok(values),
                Ok(None) => failures.push(format!("{url}: status unknown")),
                Err(e @ CmsError::Revocation(_)) if e.to_string().contains("is revoked") => {
                    return Err(e);
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        for url in crl_urls(cert) {
            match self.fetch_crl(&url, cert, issuer) {
                Ok(values) => return Ok(values),
                Err(e @ CmsError::Revocation(_)) if e.to_string().contains("is revoked") => {
                    return Err(e);
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        if failures.is_empty() {
            Err(CmsError::Revocation(format!(
                "{} names no OCSP responder or CRL distribution point over http",
                subject(cert)
            )))
        } else {
            Err(CmsError::Revocation(format!(
                "no revocation information for {}: {}",
                subject(cert),
                failures.join("; ")
            )))
        }
    }
}

/// The `http` URLs of the certificate's OCSP responders.
pub fn ocsp_urls(cert: &Certificate) -> Vec<String> {
    match cert
        .tbs_certificate()
        .get_extension::<AuthorityInfoAccessSyntax>()
    {
        Ok(Some((_, aia))) => aia
            .0
            .iter()
            .filter(|d| d.access_method == AD_OCSP)
            .filter_map(|d| http_uri(&d.access_location))
            .collect(),
        _ => Vec::new(),
    }
}

/// The `http` URLs of the certificate's CRL distribution points (full names only).
pub fn crl_urls(cert: &Certificate) -> Vec<String> {
    match cert
        .tbs_certificate()
        .get_extension::<CrlDistributionPoints>()
    {
        Ok(Some((_, points))) => points
            .0
            .iter()
            .filter_map(|p| match &p.distribution_point {
                Some(DistributionPointName::FullName(names)) => Some(names),
                _ => None,
            })
            .flatten()
            .filter_map(http_uri)
            .collect(),
        _ => Vec::new(),
    }
}

fn http_uri(name: &GeneralName) -> Option<String> {
    match name {
        GeneralName::UniformResourceIdentifier(uri) if uri.as_str().starts_with("http://") => {
            Some(uri.as_str().to_owned())
        }
        _ => None,
    }
}

pub(crate) fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

fn revoked(cert: &Certificate) -> CmsError {
    CmsError::Revocation(format!("the certificate of {} is revoked", subject(cert)))
}

fn not_covered(cert: &Certificate) -> CmsError {
    CmsError::Revocation(format!(
        "no supplied CRL or OCSP response covers {}",
        subject(cert)
    ))
}

/// The issuer of `cert` among `certificates`.
pub(crate) fn issuer_of<'c>(
    cert: &Certificate,
    certificates: &'c [Certificate],
) -> Option<&'c Certificate> {
    certificates.iter().find(|c| issued_by(cert, c))
}

/// Revocation values for every certificate in `certificates` that is not self-signed; each
/// one's issuer must be among them (the chains up to their roots).
pub fn validation_data(
    certificates: &[Certificate],
    source: &dyn RevocationSource,
) -> Result<RevocationValues, CmsError> {
    let mut values = RevocationValues::default();
    for cert in certificates.iter().filter(|c| !is_self_signed(c)) {
        let issuer = issuer_of(cert, certificates).ok_or_else(|| {
            CmsError::Input(format!(
                "the issuer of {} is not among the certificates: give the whole chain up to \
                 the root",
                subject(cert)
            ))
        })?;
        values.merge(source.revocation_values(cert, issuer)?);
    }
    Ok(values)
}

/// `RevocationInfoChoices`: CRLs as they are, OCSP responses as `id-ri-ocsp-response`.
pub(crate) fn to_revocation_info(
    values: RevocationValues,
) -> Result<SetOfVec<RevocationInfoChoice>, CmsError> {
    let mut choices: Vec<RevocationInfoChoice> = values
        .crls
        .into_iter()
        .map(RevocationInfoChoice::Crl)
        .collect();
    for response in values.ocsp_responses {
        choices.push(RevocationInfoChoice::Other(OtherRevocationInfoFormat {
            other_rev_info_format: oids::RI_OCSP_RESPONSE,
            other_rev_info: Any::from_der(&response).map_err(CmsError::der("OCSP response"))?,
        }));
    }
    SetOfVec::try_from(choices).map_err(CmsError::der("revocation values"))
}

/// The revocation values in `SignedData.crls`.
pub(crate) fn from_revocation_info(
    choices: &SetOfVec<RevocationInfoChoice>,
) -> Result<RevocationValues, CmsError> {
    let mut values = RevocationValues::default();
    for choice in choices.iter() {
        match choice {
            RevocationInfoChoice::Crl(crl) => values.crls.push(crl.clone()),
            RevocationInfoChoice::Other(other)
                if other.other_rev_info_format == oids::RI_OCSP_RESPONSE =>
            {
                values.ocsp_responses.push(
                    other
                        .other_rev_info
                        .to_der()
                        .map_err(CmsError::der("OCSP response"))?,
                )
            }
            RevocationInfoChoice::Other(_) => {}
        }
    }
    Ok(values)
}
