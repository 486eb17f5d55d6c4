package s3

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"gopkg.in/ini.v1"
)

// AWS's conventions for finding the endpoint, the region and the
// credentials, as its SDKs and CLI follow them, so that a gateway started
// where `aws s3 ls` works reads s3:// sources without an object_storage
// section:
//
//   - endpoint: object_storage.endpoint, else AWS_ENDPOINT_URL_S3, else
//     AWS_ENDPOINT_URL, else the profile's endpoint_url in the shared
//     config file, else AWS itself (https://s3.REGION.amazonaws.com) when
//     any AWS credential or region is configured;
//   - region: object_storage.region, else AWS_REGION, else
//     AWS_DEFAULT_REGION, else the profile's region in the shared config
//     file (us-east-1 for AWS's own endpoint when none is);
//   - credentials: object_storage.access_key and secret_key, else
//     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, else
//     the profile in the shared credentials file, else web identity
//     (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, as on EKS) or the
//     container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*, as on
//     ECS), else the EC2 instance metadata service when
//     object_storage.instance_metadata is true, else anonymous requests.
//
// The profile is AWS_PROFILE (default "default"); the shared files are
// AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, by default ~/.aws/config
// and ~/.aws/credentials.

// awsProfile is the profile the shared files are read for.
func awsProfile(getenv func(string) string) string {
	if p := getenv("AWS_PROFILE"); p != "" {
		return p
	}
	return "default"
}

// awsSharedFile is the shared file named by env, else ~/.aws/name.
func awsSharedFile(getenv func(string) string, env, name string) string {
	if f := getenv(env); f != "" {
		return f
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".aws", name)
}

// awsProfileKeys is the profile's section of the shared config file
// ("[default]", "[profile NAME]"); empty when there is none.
func awsProfileKeys(getenv func(string) string) map[string]string {
	file := awsSharedFile(getenv, "AWS_CONFIG_FILE", "config")
	if file == "" {
		return nil
	}
	f, err := ini.Load(file)
	if err != nil {
		return nil // no file, or not one the AWS CLI would read either
	}
	profile := awsProfile(getenv)
	name := "profile " + profile
	if profile == "default" && !f.HasSection(name) {
		name = "default"
	}
	if !f.HasSection(name) {
		return nil
	}
	return f.Section(name).KeysHash()
}

// awsCredentialsConfigured reports whether the environment or the shared
// credentials file hold AWS credentials of some kind (their values are
// not read here).
func awsCredentialsConfigured(getenv func(string) string) bool {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		if getenv(k) != "" {
			return true
		}
	}
	file := awsSharedFile(getenv, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
	if file == "" {
		return false
	}
	f, err := ini.Load(file)
	return err == nil && f.HasSection(awsProfile(getenv))
}

// FromEnvironment is c with its endpoint and region filled, where c leaves
// them empty, by AWS's conventions (above) read through getenv and the
// shared files. ok is false when no endpoint results: no object storage.
func (c Config) FromEnvironment(getenv func(string) string) (_ Config, ok bool) {
	profile := awsProfileKeys(getenv)
	if c.Region == "" {
		c.Region = firstNonEmpty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), profile["region"])
	}
	if c.Endpoint == "" {
		c.Endpoint = firstNonEmpty(getenv("AWS_ENDPOINT_URL_S3"), getenv("AWS_ENDPOINT_URL"), profile["endpoint_url"])
	}
	if c.Endpoint == "" && (c.AccessKey != "" || c.Region != "" || awsCredentialsConfigured(getenv)) {
		if c.Region == "" {
			c.Region = "us-east-1"
		}
		c.Endpoint = "https://s3." + c.Region + ".amazonaws.com"
		if strings.HasPrefix(c.Region, "cn-") {
			c.Endpoint += ".cn"
		}
	}
	return c, c.Endpoint != ""
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// credentialsFor is the credentials the store signs with: the configured
// keys, else the first of AWS's providers (above) that holds credentials
// now, else anonymous. A provider found keeps refreshing what expires
// (a session token, web identity); the providers are asked once, at New.
// from names where they came from, for error messages.
func (c Config) credentialsFor(getenv func(string) string) (_ *credentials.Credentials, from string) {
	if c.AccessKey != "" {
		return credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""), "object_storage.access_key and object_storage.secret_key"
	}
	providers := []credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{Filename: awsSharedFile(getenv, "AWS_SHARED_CREDENTIALS_FILE", "credentials"), Profile: awsProfile(getenv)},
	}
	if c.InstanceMetadata || getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "" ||
		getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "" || getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "" {
		// Without web identity or a container endpoint, minio's IAM
		// provider asks EC2's instance metadata service: only on request,
		// since off EC2 every attempt waits for a timeout.
		providers = append(providers, &credentials.IAM{})
	}
	names := []string{"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN", "the AWS profile " + awsProfile(getenv) + " of the shared credentials file",
		"the AWS web identity, container or instance credentials"}
	for i, p := range providers {
		v, err := p.Retrieve()
		if err == nil && v.AccessKeyID != "" && v.SecretAccessKey != "" {
			return credentials.New(p), names[i]
		}
	}
	return credentials.New(&credentials.Static{Value: credentials.Value{SignerType: credentials.SignatureAnonymous}}),
		"object_storage.access_key and object_storage.secret_key (none are set, nor AWS credentials: requests are anonymous)"
}
