/**
 * Where an OPC UA device keeps its certificates, and what a certificate says about
 * itself. The adapter and the `trust` verb both go through here, so they always agree
 * on the folder. Kept free of node-opcua so it is cheap to import.
 */
import { X509Certificate } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The PKI store (own/, trusted/, rejected/, issuers/) of one device. */
export function pkiDir(stateDir: string): string {
  return join(stateDir, 'pki');
}

/** The certificate the gateway presents to the server (created on first connect). */
export function clientCertificateFile(stateDir: string): string {
  return join(pkiDir(stateDir), 'own', 'certs', 'client_certificate.pem');
}

export function hasTrustedCertificate(stateDir: string): boolean {
  try {
    return readdirSync(join(pkiDir(stateDir), 'trusted', 'certs')).length > 0;
  } catch {
    return false;
  }
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  sha1: string;
  sha256: string;
  validFrom: Date;
  validTo: Date;
}

/** Reads a DER certificate (the first one, when a server sends its chain). */
export function describeCertificate(der: Buffer): CertificateInfo {
  const cert = new X509Certificate(firstCertificate(der));
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    sha1: cert.fingerprint,
    sha256: cert.fingerprint256,
    validFrom: new Date(cert.validFrom),
    validTo: new Date(cert.validTo),
  };
}

/** A DER chain is certificates back to back; each starts with a SEQUENCE header giving its length. */
export function firstCertificate(der: Buffer): Buffer {
  if (der[0] !== 0x30) throw new Error('not a DER certificate');
  const lenByte = der[1];
  if (lenByte < 0x80) return der.subarray(0, 2 + lenByte);
  const n = lenByte & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i];
  return der.subarray(0, 2 + n + len);
}
