// The deployment's parameters: sizes, domain and certificate, image, network and database
// choices, read from CDK context (`-c key=value`, strings) or given typed, checked with a message
// naming the context key and what it expects.

export interface DeploymentParameters {
  /** Name of the CloudFormation stack. */
  stackName: string;
  /** Account and region to deploy to; undefined leaves the stack environment-agnostic. */
  account: string | undefined;
  region: string | undefined;
  /** The service's public name, e.g. genres.example.com (an alias record and a certificate). */
  domainName: string | undefined;
  /** Route 53 hosted zone the name is created in (with domainName). */
  hostedZoneId: string | undefined;
  hostedZoneName: string | undefined;
  /** An existing ACM certificate for the load balancer; otherwise one is created (domainName). */
  certificateArn: string | undefined;
  /** The genre-classifier image from any registry (registry/repository:tag); overrides the two below. */
  image: string | undefined;
  /** An ECR repository of this account and region holding the image. */
  imageRepository: string;
  /** The image's tag in imageRepository; otherwise the stack parameter ImageTag. */
  imageTag: string | undefined;
  cpuArchitecture: "x86_64" | "arm64";
  serve: { cpu: number; memoryMiB: number; count: number };
  scheduler: { cpu: number; memoryMiB: number };
  worker: {
    cpu: number;
    memoryMiB: number;
    min: number;
    max: number;
    /** Task runs one worker runs at once (orchestration.worker.concurrency). */
    concurrency: number;
    /** Waiting task runs at which one more worker starts; five times this adds three. */
    scaleOutQueueDepth: number;
  };
  database: {
    instanceClass: string;
    allocatedStorageGiB: number;
    maxAllocatedStorageGiB: number;
    multiAz: boolean;
    backupRetentionDays: number;
    /**
     * A file in the image holding the RDS certificate authorities: the connection then verifies
     * the server (sslmode=verify-full); without it the connection is encrypted, unverified.
     */
    caBundleFile: string | undefined;
  };
  redis: { nodeType: string; replicas: number };
  /** Deletion protection on the database and the load balancer; buckets are always retained. */
  deletionProtection: boolean;
  /** NAT gateways for the tasks' outbound traffic (image pulls, AWS APIs); 1, or 2 for AZ redundancy. */
  natGateways: number;
  /** Port 80 on the load balancer answering only a redirect to HTTPS. */
  httpRedirect: boolean;
  logRetentionDays: number;
  /** The CloudWatch agent image that turns serve's /metrics into the scaling metric. */
  metricsAgentImage: string;
}

export const DEFAULT_PARAMETERS: DeploymentParameters = {
  stackName: "GenreClassifier",
  account: undefined,
  region: undefined,
  domainName: undefined,
  hostedZoneId: undefined,
  hostedZoneName: undefined,
  certificateArn: undefined,
  image: undefined,
  imageRepository: "genre-classifier",
  imageTag: undefined,
  cpuArchitecture: "x86_64",
  serve: { cpu: 512, memoryMiB: 1024, count: 2 },
  scheduler: { cpu: 256, memoryMiB: 512 },
  worker: {
    cpu: 1024,
    memoryMiB: 2048,
    min: 1,
    max: 8,
    concurrency: 2,
    scaleOutQueueDepth: 20,
  },
  database: {
    instanceClass: "t4g.small",
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 200,
    multiAz: false,
    backupRetentionDays: 7,
    caBundleFile: undefined,
  },
  redis: { nodeType: "cache.t4g.micro", replicas: 0 },
  deletionProtection: true,
  natGateways: 1,
  httpRedirect: true,
  logRetentionDays: 30,
  metricsAgentImage: "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300062.0b1304",
};

/** The context keys, each with the parameter it sets. */
const CONTEXT_KEYS = [
  "stackName",
  "account",
  "region",
  "domainName",
  "hostedZoneId",
  "hostedZoneName",
  "certificateArn",
  "image",
  "imageRepository",
  "imageTag",
  "cpuArchitecture",
  "serveCpu",
  "serveMemory",
  "serveCount",
  "schedulerCpu",
  "schedulerMemory",
  "workerCpu",
  "workerMemory",
  "workerMin",
  "workerMax",
  "workerConcurrency",
  "workerScaleOutQueueDepth",
  "dbInstanceClass",
  "dbAllocatedStorage",
  "dbMaxAllocatedStorage",
  "dbMultiAz",
  "dbBackupRetentionDays",
  "dbCaBundleFile",
  "redisNodeType",
  "redisReplicas",
  "deletionProtection",
  "natGateways",
  "httpRedirect",
  "logRetentionDays",
  "metricsAgentImage",
] as const;

type ContextKey = (typeof CONTEXT_KEYS)[number];

export class ParameterError extends Error {
  override name = "ParameterError";
}

/** Memory sizes (MiB) Fargate accepts for each CPU size (CPU units, 1024 = one vCPU). */
const FARGATE_MEMORY: Record<number, (memory: number) => boolean> = {
  256: (m) => [512, 1024, 2048].includes(m),
  512: (m) => m >= 1024 && m <= 4096 && m % 1024 === 0,
  1024: (m) => m >= 2048 && m <= 8192 && m % 1024 === 0,
  2048: (m) => m >= 4096 && m <= 16384 && m % 1024 === 0,
  4096: (m) => m >= 8192 && m <= 30720 && m % 1024 === 0,
  8192: (m) => m >= 16384 && m <= 61440 && m % 4096 === 0,
  16384: (m) => m >= 32768 && m <= 122880 && m % 8192 === 0,
};

/** Log retention periods CloudWatch Logs accepts, in days. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
];

/**
 * The parameters from CDK context values (strings from `-c key=value`, or typed values from a
 * cdk.json or a test), over the defaults. A bare name that is not a parameter is refused, so that
 * a typo does not silently deploy the default.
 */
export function parametersFromContext(
  context: Record<string, unknown>,
  environment: { account?: string | undefined; region?: string | undefined } = {},
): DeploymentParameters {
  const known = new Set<string>(CONTEXT_KEYS);
  for (const key of Object.keys(context)) {
    // The CDK's own keys hold ':', '/', '-' or '@'; a bare name that is not ours is a typo.
    if (known.has(key) || !/^[a-z][A-Za-z0-9]*$/.test(key)) continue;
    throw new ParameterError(
      `context ${key}: not a parameter of this app (expected one of ${CONTEXT_KEYS.join(", ")})`,
    );
  }
  const read = new ContextReader(context);
  const d = DEFAULT_PARAMETERS;
  const parameters: DeploymentParameters = {
    stackName:
      read.string("stackName", /^[A-Za-z][A-Za-z0-9-]{0,127}$/, "a stack name") ?? d.stackName,
    account: read.string("account", /^\d{12}$/, "a 12-digit account id") ?? environment.account,
    region:
      read.string("region", /^[a-z]{2}(-[a-z]+)+-\d$/, "a region such as eu-west-1") ??
      environment.region,
    domainName: read.string(
      "domainName",
      /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
      "a lower-case DNS name such as genres.example.com",
    ),
    hostedZoneId: read.string(
      "hostedZoneId",
      /^Z[A-Z0-9]{1,31}$/,
      "a Route 53 hosted zone id (Z…)",
    ),
    hostedZoneName: read.string(
      "hostedZoneName",
      /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
      "the hosted zone's DNS name such as example.com",
    ),
    certificateArn: read.string(
      "certificateArn",
      /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/,
      "an ACM certificate ARN",
    ),
    image: read.string(
      "image",
      /^[a-z0-9][\w.\-/:@]{0,511}$/i,
      "an image reference such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/genre-classifier:0.1.0",
    ),
    imageRepository:
      read.string(
        "imageRepository",
        /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
        "an ECR repository name such as genre-classifier",
      ) ?? d.imageRepository,
    imageTag: read.string("imageTag", /^[\w][\w.-]{0,127}$/, "an image tag such as 0.1.0"),
    cpuArchitecture: read.oneOf("cpuArchitecture", ["x86_64", "arm64"]) ?? d.cpuArchitecture,
    serve: {
      cpu: read.integer("serveCpu", 256, 16384) ?? d.serve.cpu,
      memoryMiB: read.integer("serveMemory", 512, 122880) ?? d.serve.memoryMiB,
      count: read.integer("serveCount", 1, 100) ?? d.serve.count,
    },
    scheduler: {
      cpu: read.integer("schedulerCpu", 256, 16384) ?? d.scheduler.cpu,
      memoryMiB: read.integer("schedulerMemory", 512, 122880) ?? d.scheduler.memoryMiB,
    },
    worker: {
      cpu: read.integer("workerCpu", 256, 16384) ?? d.worker.cpu,
      memoryMiB: read.integer("workerMemory", 512, 122880) ?? d.worker.memoryMiB,
      min: read.integer("workerMin", 1, 1000) ?? d.worker.min,
      max: read.integer("workerMax", 1, 1000) ?? d.worker.max,
      concurrency: read.integer("workerConcurrency", 1, 1000) ?? d.worker.concurrency,
      scaleOutQueueDepth:
        read.integer("workerScaleOutQueueDepth", 1, 1_000_000) ?? d.worker.scaleOutQueueDepth,
    },
    database: {
      instanceClass:
        read.string(
          "dbInstanceClass",
          /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
          "an instance class such as t4g.small (without db.)",
        ) ?? d.database.instanceClass,
      allocatedStorageGiB:
        read.integer("dbAllocatedStorage", 20, 65536) ?? d.database.allocatedStorageGiB,
      maxAllocatedStorageGiB:
        read.integer("dbMaxAllocatedStorage", 20, 65536) ?? d.database.maxAllocatedStorageGiB,
      multiAz: read.boolean("dbMultiAz") ?? d.database.multiAz,
      backupRetentionDays:
        read.integer("dbBackupRetentionDays", 1, 35) ?? d.database.backupRetentionDays,
      caBundleFile: read.string("dbCaBundleFile", /^\/[\w.\-/]+$/, "an absolute path in the image"),
    },
    redis: {
      nodeType:
        read.string(
          "redisNodeType",
          /^cache\.[a-z0-9]+\.[a-z0-9]+$/,
          "a node type such as cache.t4g.micro",
        ) ?? d.redis.nodeType,
      replicas: read.integer("redisReplicas", 0, 5) ?? d.redis.replicas,
    },
    deletionProtection: read.boolean("deletionProtection") ?? d.deletionProtection,
    natGateways: read.integer("natGateways", 1, 2) ?? d.natGateways,
    httpRedirect: read.boolean("httpRedirect") ?? d.httpRedirect,
    logRetentionDays: read.integer("logRetentionDays", 1, 3653) ?? d.logRetentionDays,
    metricsAgentImage:
      read.string("metricsAgentImage", /^[a-z0-9][\w.\-/:@]{0,511}$/i, "an image reference") ??
      d.metricsAgentImage,
  };
  checkParameters(parameters);
  return parameters;
}

/** Checks that hold between parameters; throws a ParameterError naming the context keys. */
export function checkParameters(p: DeploymentParameters): void {
  for (const [cpuKey, memoryKey, size] of [
    ["serveCpu", "serveMemory", p.serve],
    ["schedulerCpu", "schedulerMemory", p.scheduler],
    ["workerCpu", "workerMemory", p.worker],
  ] as const) {
    const memoryFits = FARGATE_MEMORY[size.cpu];
    if (!memoryFits)
      throw new ParameterError(
        `context ${cpuKey}: ${size.cpu} is not a Fargate CPU size (expected one of ${Object.keys(FARGATE_MEMORY).join(", ")})`,
      );
    if (!memoryFits(size.memoryMiB))
      throw new ParameterError(
        `context ${memoryKey}: ${size.memoryMiB} MiB does not go with ${cpuKey} ${size.cpu} on Fargate (see the task size table in the ECS developer guide)`,
      );
  }
  if (p.worker.max < p.worker.min)
    throw new ParameterError(
      `context workerMax: ${p.worker.max} is below workerMin ${p.worker.min}`,
    );
  if (p.database.maxAllocatedStorageGiB < p.database.allocatedStorageGiB)
    throw new ParameterError(
      `context dbMaxAllocatedStorage: ${p.database.maxAllocatedStorageGiB} is below dbAllocatedStorage ${p.database.allocatedStorageGiB}`,
    );
  if (!RETENTION_DAYS.includes(p.logRetentionDays))
    throw new ParameterError(
      `context logRetentionDays: ${p.logRetentionDays} is not a CloudWatch Logs retention (expected one of ${RETENTION_DAYS.join(", ")})`,
    );
  if ((p.hostedZoneId === undefined) !== (p.hostedZoneName === undefined))
    throw new ParameterError(
      "context hostedZoneId and hostedZoneName: give both (the zone's id and its DNS name) or neither",
    );
  if (p.hostedZoneId && !p.domainName)
    throw new ParameterError("context domainName: required with hostedZoneId (the name to create)");
  if (p.domainName && p.hostedZoneName && !`.${p.domainName}`.endsWith(`.${p.hostedZoneName}`))
    throw new ParameterError(
      `context domainName: ${p.domainName} is not inside hostedZoneName ${p.hostedZoneName}`,
    );
  if (p.domainName && !p.hostedZoneId && !p.certificateArn)
    throw new ParameterError(
      `context domainName: ${p.domainName} needs hostedZoneId and hostedZoneName (to validate a new certificate and create the alias record) or certificateArn (an existing certificate)`,
    );
}

class ContextReader {
  constructor(private readonly context: Record<string, unknown>) {}

  private raw(key: ContextKey): unknown {
    const value = this.context[key];
    return value === "" ? undefined : value;
  }

  string(key: ContextKey, pattern: RegExp, expected: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== "string" || !pattern.test(value))
      throw new ParameterError(`context ${key}: ${JSON.stringify(value)} is not ${expected}`);
    return value;
  }

  oneOf<T extends string>(key: ContextKey, values: readonly T[]): T | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!values.includes(value as T))
      throw new ParameterError(
        `context ${key}: ${JSON.stringify(value)} is not one of ${values.join(", ")}`,
      );
    return value as T;
  }

  integer(key: ContextKey, min: number, max: number): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof number !== "number" || !Number.isInteger(number) || number < min || number > max)
      throw new ParameterError(
        `context ${key}: ${JSON.stringify(value)} is not a whole number from ${min} to ${max}`,
      );
    return number;
  }

  boolean(key: ContextKey): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    throw new ParameterError(`context ${key}: ${JSON.stringify(value)} is not true or false`);
  }
}
