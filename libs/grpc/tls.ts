/**
 * TLS from PEM files for gRPC servers and clients, reloaded without a
 * restart: the files are read at start (a missing or mismatched file stops
 * the process with the file's name), then again on SIGHUP and whenever one
 * of them changes (polled every `reloadIntervalSeconds`). A reload that
 * fails keeps the certificates in use and reports why; connections already
 * open keep theirs, new ones get the new ones.
 *
 * Servers: `serverCredentials` (client certificates none, optional or
 * required, verified against the CA file). Clients: `channelCredentials`
 * (the server verified against the CA file, the certificate presented if
 * one is given).
 */
import { readFileSync, type StatWatcher, unwatchFile, watchFile } from "node:fs";
import { createSecureContext } from "node:tls";
import * as grpc from "@grpc/grpc-js";

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

export interface TlsFiles {
  /** PEM certificate chain presented to peers. */
  cert?: string | undefined;
  /** PEM private key of cert. */
  key?: string | undefined;
  /** PEM CA bundle peers' certificates are verified against. */
  ca?: string | undefined;
}

export type ClientAuth = "none" | "optional" | "require";

export interface ReloadOptions {
  reloadIntervalSeconds: number;
  /** Told of each reload: undefined when it worked, else why the old certificates stay. */
  onReload?: (err: Error | undefined) => void;
}

interface Loaded {
  ca: Buffer | null;
  identity: { certificate: Buffer; privateKey: Buffer } | null;
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`TLS ${what} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function load(files: TlsFiles): Loaded {
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new Error(`TLS needs both a certificate and its key (${files.cert === undefined ? "no certificate" : "no key"} given)`);
  }
  const ca = files.ca === undefined ? null : read(files.ca, "CA file");
  const identity =
    files.cert === undefined || files.key === undefined
      ? null
      : { certificate: read(files.cert, "certificate"), privateKey: read(files.key, "key") };
  try {
    // Throws for a key that is not the certificate's, or a file that is not PEM.
    createSecureContext({ ca: ca ?? undefined, cert: identity?.certificate, key: identity?.privateKey });
  } catch (err) {
    throw new Error(
      `TLS files ${[files.cert, files.key, files.ca].filter((f) => f !== undefined).join(", ")} cannot be used: ${(err as Error).message}`,
    );
  }
  return { ca, identity };
}

/** The certificates of one process, as grpc-js's certificate provider: read once, pushed again to listeners on reload. */
export class CertificateFiles implements CertificateProvider {
  private current: Loaded;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly watchers: Array<{ file: string; watcher: StatWatcher }> = [];
  private readonly onHangup = () => this.reload();

  constructor(
    readonly files: TlsFiles,
    private readonly opts: ReloadOptions,
  ) {
    this.current = load(files);
    for (const file of [files.cert, files.key, files.ca]) {
      if (file === undefined) continue;
      const watcher = watchFile(file, { interval: Math.max(100, opts.reloadIntervalSeconds * 1000), persistent: false }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) this.reload();
      });
      this.watchers.push({ file, watcher });
    }
    process.on("SIGHUP", this.onHangup);
  }

  /** The certificate and key in use, if any. */
  get identity(): { certificate: Buffer; privateKey: Buffer } | null {
    return this.current.identity;
  }

  get hasIdentity(): boolean {
    return this.current.identity !== null;
  }

  get hasCa(): boolean {
    return this.current.ca !== null;
  }

  /** Reads the files again; on failure the certificates in use stay. Returns whether it worked. */
  reload(): boolean {
    let next: Loaded;
    try {
      next = load(this.files);
    } catch (err) {
      this.opts.onReload?.(err as Error);
      return false;
    }
    this.current = next;
    for (const l of this.caListeners) l(next.ca === null ? null : { caCertificate: next.ca });
    for (const l of this.identityListeners) l(next.identity);
    this.opts.onReload?.(undefined);
    return true;
  }

  // grpc-js registers its watcher of the credentials only after adding these
  // listeners: the current certificates are given on the next tick, or the
  // server would never see them.
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => {
      if (this.caListeners.has(listener)) listener(this.current.ca === null ? null : { caCertificate: this.current.ca });
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => {
      if (this.identityListeners.has(listener)) listener(this.current.identity);
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  close(): void {
    for (const { file } of this.watchers) unwatchFile(file);
    this.watchers.length = 0;
    process.off("SIGHUP", this.onHangup);
  }
}

/** A TLS server's credentials: its certificate, and client certificates per `clientAuth` (verified against the CA file). */
export function serverCredentials(files: CertificateFiles, clientAuth: ClientAuth): grpc.ServerCredentials {
  if (!files.hasIdentity) throw new Error("a TLS server needs a certificate and a key");
  const verify = clientAuth !== "none";
  if (verify && !files.hasCa) throw new Error(`client certificates (${clientAuth}) are verified against a CA file: none is given`);
  // grpc-js takes (identity, ca, require) in this order, whatever its type declaration names them.
  return grpc.experimental.createCertificateProviderServerCredentials(files, verify ? files : null, clientAuth === "require");
}

/** A client's credentials: servers verified against the CA file, the certificate (if any) presented. */
export function channelCredentials(files: CertificateFiles): grpc.ChannelCredentials {
  if (!files.hasCa) throw new Error("a TLS client verifies servers against a CA file: none is given");
  return grpc.experimental.createCertificateProviderChannelCredentials(files, files.hasIdentity ? files : null);
}
