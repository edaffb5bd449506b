import { readConfiguredFile, readConfiguredFileSync, type FileKind } from '../config/configured-file.js';

/** The most a TLS file may hold: a bundle of every public root CA is about 220 KB. */
export const MAX_TLS_FILE_BYTES = 1024 * 1024;

const TLS_FILE: FileKind = { name: 'a TLS file', maxBytes: MAX_TLS_FILE_BYTES };

/** The bytes of TLS file `path`, or a ConfiguredFileError saying why not (not a regular file, too large). */
export const readTlsFileSync = (path: string): Buffer => readConfiguredFileSync(path, TLS_FILE);

/** {@link readTlsFileSync} without blocking the event loop. */
export const readTlsFile = (path: string): Promise<Buffer> => readConfiguredFile(path, TLS_FILE);
