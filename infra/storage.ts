// Object storage: the data bucket holding the object store (under `store/`), a private reports
// bucket that S3 replication fills with the store's `reports/` objects, a CloudFront distribution
// reading the reports bucket through Origin Access Control, and the access-log bucket they all
// log to. Every bucket is encrypted, refuses plain HTTP, blocks all public access and keeps
// versions; none is deleted with the stack.
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";

/** The object store's root inside the data bucket: `s3://<bucket>/store`. */
export const STORE_PREFIX = "store";
/** Where the monitor step writes its reports in the store (src/flows/monitor.ts). */
export const REPORTS_PREFIX = `${STORE_PREFIX}/reports`;

const privateBucket = {
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  versioned: true,
  removalPolicy: RemovalPolicy.RETAIN,
} satisfies s3.BucketProps;

export class Storage extends Construct {
  readonly accessLogs: s3.Bucket;
  readonly data: s3.Bucket;
  readonly reports: s3.Bucket;
  readonly reportsDistribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // CloudFront's standard logs are written with an ACL grant, hence object-writer ownership
    // here alone; public access stays blocked.
    this.accessLogs = new s3.Bucket(this, "AccessLogs", {
      ...privateBucket,
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [
        { expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) },
      ],
    });
    this.reports = new s3.Bucket(this, "Reports", {
      ...privateBucket,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: "s3/reports/",
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
    });
    this.data = new s3.Bucket(this, "Data", {
      ...privateBucket,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: "s3/data/",
      lifecycleRules: [
        {
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          noncurrentVersionExpiration: Duration.days(30),
        },
      ],
      replicationRules: [
        {
          id: "reports",
          destination: this.reports,
          priority: 1,
          filter: { prefix: `${REPORTS_PREFIX}/` },
          deleteMarkerReplication: true,
        },
      ],
    });
    this.reportsDistribution = new cloudfront.Distribution(this, "ReportsDistribution", {
      comment: "genre-classifier monitoring reports",
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.reports, {
          originPath: `/${REPORTS_PREFIX}`,
          originAccessLevels: [cloudfront.AccessLevel.READ],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      enableLogging: true,
      logBucket: this.accessLogs,
      logFilePrefix: "cloudfront/reports/",
    });
  }
}
