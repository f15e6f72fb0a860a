/** Where the host tools are bound inside the sandbox (a tmpfs `/dev`: never committed). */
export const TOOLS_DIR = '/dev/.tsbuild';

/** Where a RUN heredoc script is written inside the sandbox (on its `/dev` tmpfs: never committed). */
export const SCRIPT_PATH = `${TOOLS_DIR}/script`;

/** Network modes of a sandbox: the host's network, or a new network namespace with only `lo`. */
export type NetworkMode = 'host' | 'none';

/**
 * Docker's default capability set. Root in a RUN keeps only these (no `CAP_SYS_ADMIN`: it cannot mount, unmount
 * our bind mounts or remount `/proc/sys` writable); a non-root user keeps none.
 */
const CAPABILITIES = [
  'chown', 'dac_override', 'fsetid', 'fowner', 'mknod', 'net_raw', 'setgid', 'setuid', 'setfcap', 'setpcap',
  'net_bind_service', 'sys_chroot', 'kill', 'audit_write',
];

/**
 * The set-up program, run by `/bin/sh` as PID 1 of the new PID namespace, inside the new mount namespace, with the
 * run dir as its working directory. It never interpolates data into code: everything comes as arguments or on fd 4.
 *
 * Protocol: fd 3 carries its diagnostics and the lines `@mounted`, `@ready` and `@fail STEP` to tsbuild; fd 4
 * carries tsbuild's answer `go UID GID GROUPS HOME` (GROUPS comma-separated or `-`, HOME `-` when the env already
 * has one) once it has prepared the mount targets through `/proc/PID/root`. Both are closed before the command
 * starts.
 *
 * Arguments: HOSTNAME NETWORK WORKDIR, then the command's environment, the init and its options, `--` and the
 * command.
 *
 * Once everything is mounted, the stage becomes the namespace's root (`pivot_root . .` stacks the old root on top
 * of it and `umount --lazy .` detaches it): the host's file systems are then gone from the namespace, so even a
 * RUN that escapes its chroot (say, through a new user namespace) finds only the stage: the merged root, read-only
 * host program dirs and the sandbox's own masked `/proc`. The last step switches group, drops capabilities,
 * chroots into the merged root, changes directory, switches user, and has the host `env` (started through the host
 * loader, from a clean environment) exec the static init with the command's environment.
 */
export const SANDBOX_SCRIPT = `
hostname=$1 network=$2 workdir=$3
shift 3
exec 5>&2 2>&3
fail() { echo "@fail $1" >&3; exit 1; }
mount --no-canonicalize --all --fstab fstab-a || fail "could not mount the overlay root file system (the upper and work dirs must be fresh and on one file system)"
echo @mounted >&3
read -r verb uid gid groups home <&4 || fail "tsbuild went away during set-up"
[ "$verb" = go ] || exit 0
mount --no-canonicalize --all --fstab fstab-b || fail "could not mount /dev, /proc, /sys or /etc files"
printf %s "$hostname" > /proc/sys/kernel/hostname || fail "could not set the hostname"
if [ "$network" = none ]; then ip link set lo up || fail "could not bring up lo (is iproute2 installed?)"; fi
cd s && pivot_root . . && umount --lazy . && cd / || fail "could not make the stage the root of the mount namespace"
if [ "$home" != - ]; then set -- "HOME=$home" "$@"; fi
if [ "$groups" = - ]; then groups=--clear-groups; else groups=--groups=$groups; fi
if [ "$uid" = 0 ]; then uid=; else uid=--setuid=$uid; fi
echo @ready >&3
exec 2>&5 5>&- 3>&- 4<&-
exec setpriv --regid="$gid" $groups --inh-caps=-all --bounding-set=-all,${CAPABILITIES.map((cap) => `+${cap}`).join(',')} -- \\
  unshare --root=/m --wd="$workdir" $uid -- \\
  ${TOOLS_DIR}/ld.so --library-path ${TOOLS_DIR}/lib ${TOOLS_DIR}/env -i -- "$@"
`;

/** What the host part of the sandbox needs to start. */
export interface SandboxInvocation {
  readonly network: NetworkMode;
  readonly hostname: string;
  readonly workdir: string;
  /** `NAME=value` entries, validated. */
  readonly env: readonly string[];
  readonly command: readonly string[];
}

/**
 * The argv that starts the sandbox: `setpriv --pdeathsig KILL` (if tsbuild dies, even by `kill -9`, the kernel
 * kills `unshare`, whose `--kill-child` and then tini's `-p SIGKILL` take PID 1 and with it the whole PID
 * namespace and mount namespace), then `unshare` with new mount, PID, IPC, UTS (and network) namespaces.
 */
export function sandboxArgv(invocation: SandboxInvocation): string[] {
  return [
    'setpriv', '--pdeathsig', 'KILL', '--',
    'unshare', '--mount', '--pid', '--ipc', '--uts', ...(invocation.network === 'none' ? ['--net'] : []),
    '--fork', '--kill-child', '--propagation', 'private', '--',
    '/bin/sh', '-c', SANDBOX_SCRIPT, 'tsbuild-sandbox',
    invocation.hostname, invocation.network, invocation.workdir,
    ...invocation.env,
    `${TOOLS_DIR}/init`, '-p', 'SIGKILL', '--',
    ...invocation.command,
  ];
}

/** The environment of the host tools that set the sandbox up: nothing from the image or from tsbuild's caller. */
export const SETUP_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  LC_ALL: 'C',
};
